"""The fixed text around a result (headings, labels, states) in the course's language.

Everything a renderer writes that did not come from the result itself is here, once per
language (see ``grader.core.lang``); a result carries its course's language.
"""

from __future__ import annotations

from grader.core.lang import Language, Phrase
from grader.core.results import Outcome, Status


class Chrome:
    # -- one result (console, feedback, Gradescope)
    points_title = Phrase(
        "{assignment} · {points:g} / {max:g} points", "{assignment} · баллы: {points:g} / {max:g}"
    )
    public_only = Phrase(" (public checks only)", " (только открытые проверки)")
    tests = Phrase("Tests", "Тесты")
    part = Phrase("part", "часть")
    test = Phrase("test", "тест")
    result = Phrase("result", "результат")
    points = Phrase("points", "баллы")
    details = Phrase("details", "подробности")
    hidden = Phrase(" (hidden)", " (скрытый)")
    instructor_detail = Phrase("[instructor] {detail}", "[преподавателю] {detail}")
    answers = Phrase("Written answers", "Письменные ответы")
    question = Phrase("question", "вопрос")
    state = Phrase("status", "состояние")
    answered = Phrase("answered", "есть ответ")
    awaits_review = Phrase(
        "answered, awaits review (points provisional)",
        "есть ответ, ждёт проверки преподавателем (баллы предварительные)",
    )
    missing_answer = Phrase("missing: {reason}", "нет ответа: {reason}")
    missing_plain = Phrase("missing", "нет ответа")
    reviewed = Phrase("reviewed by a teacher", "проверено преподавателем")
    reviewed_short = Phrase("reviewed", "проверено")
    teacher_comment = Phrase("Teacher's comment: {comment}", "Комментарий преподавателя: {comment}")
    cell_raised = Phrase("Cell {cell} raised {ename}", "Ячейка {cell}: ошибка {ename}")
    next_steps = Phrase("Next steps", "Что сделать")
    fix_it = Phrase("fix it", "исправьте")
    answer_it = Phrase(
        "answer {id} in a markdown cell: **Ответ {id}:** … ({reason})",
        "ответьте на {id} в markdown-ячейке: **Ответ {id}:** … ({reason})",
    )
    not_your_grade = Phrase(
        "NOT YOUR GRADE YET: {count} hidden checks worth {points:g} points ({parts}) run only "
        "at grading, on data you do not have",
        "ЭТО ЕЩЁ НЕ ОЦЕНКА: скрытые проверки (их {count}, баллов: {points:g}; {parts}) "
        "выполняются только при проверке, на данных, которых у вас нет",
    )
    provisional = Phrase(
        "written answers are scored provisionally; a teacher reviews them",
        "письменные ответы оценены предварительно; их прочитает преподаватель",
    )
    all_passed = Phrase("all checks passed", "все проверки пройдены")
    run_again = Phrase(
        "run the same `grade check` again and let it finish",
        "запустите ту же `grade check` снова и дайте ей закончить",
    )
    fix_message = Phrase(
        "fix what the message above says, then run `grade check` again",
        "исправьте то, о чём говорит сообщение выше, и запустите `grade check` снова",
    )
    not_graded_title = Phrase("{assignment} · not graded", "{assignment} · не проверено")
    # -- feedback files
    feedback_for = Phrase("{title}: feedback for {student}", "{title}: отзыв для {student}")
    score = Phrase("Score", "Баллы")
    status = Phrase("status", "статус")
    parts = Phrase("Parts", "Части")
    passed = Phrase("Passed", "Пройдено")
    partly = Phrase("Partly passed", "Пройдено частично")
    failed = Phrase("Not passed", "Не пройдено")
    metrics = Phrase("Metrics", "Метрики")
    metric_line = Phrase(
        "{value} (no points at {zero:g}, all at {full:g})",
        "{value} (0 баллов при {zero:g}, полный балл при {full:g})",
    )
    not_measured = Phrase("not measured", "не измерено")
    cell_errors = Phrase("Errors while the notebook ran", "Ошибки при выполнении ноутбука")
    cell_error = Phrase("Cell {cell} raised {ename}: {evalue}", "Ячейка {cell}: {ename}: {evalue}")
    pictures = Phrase("Pictures", "Изображения")
    on_time = Phrase(
        "Submitted {when}, before the deadline ({deadline}).",
        "Сдано {when}, до срока ({deadline}).",
    )
    late = Phrase(
        "Submitted {when}, {hours:g} h after the deadline ({deadline})",
        "Сдано {when}, через {hours:g} ч после срока ({deadline})",
    )
    late_penalty = Phrase(
        "{late}: late penalty −{points:g} points.", "{late}: штраф за опоздание −{points:g}."
    )
    no_penalty = Phrase(
        "{late}; no penalty (grace period or no late policy).",
        "{late}; без штрафа (льготное время или штраф не предусмотрен).",
    )
    written_answer = Phrase("Written answer {id}", "Письменный ответ {id}")
    late_penalty_line = Phrase(
        "Late penalty: -{points:g} points.", "Штраф за опоздание: -{points:g}."
    )
    # -- the class (summary.md, the console summary, histogram.png)
    class_summary = Phrase("{title} — class summary", "{title} — сводка по группе")
    no_results = Phrase("no results yet", "результатов пока нет")
    class_head = Phrase(
        "{count} submissions · mean {mean:.2f} · median {median:g} · min {min:g} · max {max:g} "
        "(of {top:g}) · {review} need review · {late} late",
        "работ: {count} · среднее {mean:.2f} · медиана {median:g} · минимум {min:g} · "
        "максимум {max:g} (из {top:g}) · ждут проверки: {review} · с опозданием: {late}",
    )
    distribution = Phrase("Distribution", "Распределение")
    verdicts = Phrase("Verdicts", "Итоги")
    submissions = Phrase("submissions", "работ")
    most_failed = Phrase("Most failed tests", "Чаще всего не пройдены")
    failed_count = Phrase("failed", "не пройден")
    of = Phrase("of", "из")
    points_of = Phrase("points (of {top:g})", "баллы (из {top:g})")


OUTCOMES = {
    Outcome.PASSED: Phrase("passed", "пройден"),
    Outcome.PARTIAL: Phrase("partial", "частично"),
    Outcome.FAILED: Phrase("failed", "не пройден"),
    Outcome.ERROR: Phrase("error", "ошибка"),
    Outcome.SKIPPED: Phrase("skipped", "пропущен"),
}
STATUSES = {
    Status.GRADED: Phrase("graded", "проверено"),
    Status.TIMEOUT: Phrase("time limit", "превышено время"),
    Status.OUT_OF_MEMORY: Phrase("out of memory", "не хватило памяти"),
    Status.CRASHED: Phrase("crashed", "ядро упало"),
    Status.INVALID_NOTEBOOK: Phrase("invalid notebook", "некорректный ноутбук"),
    Status.FORBIDDEN_IMPORT: Phrase("forbidden import", "запрещённый импорт"),
    Status.MISSING_NAMES: Phrase("missing names", "не хватает имён"),
    Status.NOT_FOUND: Phrase("not found", "не найдено"),
    Status.GRADER_ERROR: Phrase("grader error", "сбой проверки"),
    Status.DUPLICATE: Phrase("duplicate", "несколько работ"),
    Status.INTERRUPTED: Phrase("interrupted", "прервано"),
    Status.NETWORK_ACCESS: Phrase("network access", "обращение в сеть"),
}


def outcome(value: Outcome, lang: Language) -> str:
    return OUTCOMES[value](lang)


def status(value: Status, lang: Language) -> str:
    return STATUSES[value](lang)
