rule download:
    output: step_outputs("download")
    params: cmd=step_command("download"), values=step_params("download")
    threads: P.STEPS["download"].threads
    shell: "{params.cmd}"


rule prepare:
    input: step_inputs("prepare")
    output: step_outputs("prepare")
    params: cmd=step_command("prepare"), values=step_params("prepare")
    threads: P.STEPS["prepare"].threads
    shell: "{params.cmd}"
