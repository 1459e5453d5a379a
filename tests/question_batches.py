"""What every engine for a checklist's batched questions must do (`QuestionBatches`): one contract,
checked on llama.cpp's branches and on the int8 engine alike."""

from __future__ import annotations

import numpy as np


def assert_held_prefix_reused(engine, llm) -> None:  # noqa: ANN001
    """The rubric is held across logs with results identical to evaluating everything afresh, and
    the tokens evaluated are exactly those not held. `engine` is fresh; `llm` tokenizes."""

    def tokens(text: str, bos: bool = False) -> list[int]:
        return llm.tokenize(text.encode(), add_bos=bos, special=False)

    rubric = tokens("You answer questions about driving logs.", bos=True)
    logs = [rubric + tokens(f" Log: {t}") for t in ("the car turns left.", "snow covers the road.")]
    asks = [tokens(" Snow? Answer:"), tokens(" Turn? Answer:")]
    first = [engine.logits(log, [len(rubric)], asks) for log in logs]
    spent = engine.evaluated
    repeated = [engine.logits(log, [len(rubric)], asks) for log in logs[::-1]][::-1]
    fresh = [engine.logits(log, [len(rubric)], asks, reuse=False) for log in logs]
    for a, b, c in zip(first, repeated, fresh, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    # cold: the first log whole, the second from the held rubric; then the second log again is held
    # whole (only its questions), the first from the rubric; without reuse, both logs whole
    a, d = sum(map(len, asks)), [len(log) - len(rubric) for log in logs]
    assert spent == len(logs[0]) + d[1] + 2 * a
    assert engine.evaluated - spent == a + (d[0] + a) + (len(logs[0]) + a) + (len(logs[1]) + a)
