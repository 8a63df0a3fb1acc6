rule train:
    input: step_inputs("train")
    output: step_outputs("train")
    params: cmd=step_command("train"), values=step_params("train")
    threads: P.STEPS["train"].threads
    resources: gpu=1
    shell: "{params.cmd}"


rule sample:
    input: step_inputs("sample")
    output: step_outputs("sample")
    params: cmd=step_command("sample"), values=step_params("sample")
    threads: P.STEPS["sample"].threads
    shell: "{params.cmd}"
