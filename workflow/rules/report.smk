rule report:
    input: step_inputs("report")
    output: step_outputs("report")
    params: cmd=step_command("report"), values=step_params("report")
    threads: P.STEPS["report"].threads
    shell: "{params.cmd}"
