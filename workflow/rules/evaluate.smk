rule classifier:
    input: step_inputs("classifier")
    output: step_outputs("classifier")
    params: cmd=step_command("classifier"), values=step_params("classifier")
    threads: P.STEPS["classifier"].threads
    shell: "{params.cmd}"


rule score:
    input: step_inputs("score")
    output: step_outputs("score")
    params: cmd=step_command("score"), values=step_params("score")
    threads: P.STEPS["score"].threads
    shell: "{params.cmd}"


rule score_real:
    input: step_inputs("score_real")
    output: step_outputs("score_real")
    params: cmd=step_command("score_real"), values=step_params("score_real")
    threads: P.STEPS["score_real"].threads
    shell: "{params.cmd}"


rule game:
    input: step_inputs("game")
    output: step_outputs("game")
    params: cmd=step_command("game"), values=step_params("game")
    threads: P.STEPS["game"].threads
    shell: "{params.cmd}"


rule toy:
    output: step_outputs("toy")
    params: cmd=step_command("toy"), values=step_params("toy")
    threads: P.STEPS["toy"].threads
    shell: "{params.cmd}"
