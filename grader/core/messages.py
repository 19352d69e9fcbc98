"""What the grader says about a submission, in every language of the course (see ``lang.py``).

Stages keep a finding as a :class:`~grader.core.lang.Said` (a phrase and its fields); the
verdict (``verdict.py``) says it in the course's language. Instructor-facing errors (a broken
spec, a missing Docker engine) are not here: they stay in English, in the exceptions.
"""

from __future__ import annotations

import difflib

from grader.core.lang import Language, Phrase

ARROW = "\n  → "
"""Between what happened and what to do, in a refusal."""


class Refusals:
    """Why a submission cannot be graded as handed in (intake of one submission or a class)."""

    because = Phrase("{message}" + ARROW + "{hint}", "{message}" + ARROW + "{hint}")
    """What happened, then what to do (both said in the same language)."""

    path_missing = Phrase(
        "{path} does not exist" + ARROW + "check the path",
        "{path} не существует" + ARROW + "проверьте путь",
    )
    no_notebook = Phrase(
        "no .ipynb file in {folder}" + ARROW + "submit your notebook as {preferred}",
        "в {folder} нет файла .ipynb" + ARROW + "сдайте ноутбук как {preferred}",
    )
    many_notebooks = Phrase(
        "{count} notebooks in {folder} ({listing}); cannot tell which one to grade"
        + ARROW
        + "leave only one, or name it {preferred}",
        "в {folder} {count} ноутбуков ({listing}); непонятно, какой проверять"
        + ARROW
        + "оставьте один или назовите нужный {preferred}",
    )
    zip_too_big = Phrase(
        "{name} unpacks to more than {limit_mib} MiB" + ARROW + "submit the notebook alone",
        "{name} распаковывается больше чем в {limit_mib} МиБ" + ARROW + "сдайте только ноутбук",
    )
    too_large = Phrase(
        "{name} is {size_mib} MiB (limit {limit_mib} MiB)"
        + ARROW
        + "clear the outputs (Edit → Clear all outputs) and save again",
        "{name} занимает {size_mib} МиБ (предел {limit_mib} МиБ)"
        + ARROW
        + "очистите выводы ячеек (Edit → Clear all outputs) и сохраните снова",
    )
    not_json = Phrase(
        "{name} is not valid JSON ({error})"
        + ARROW
        + "the file is damaged; download it again from Jupyter/Colab (File → Download .ipynb)",
        "{name} — не корректный JSON ({error})"
        + ARROW
        + "файл повреждён; скачайте его заново из Jupyter/Colab (File → Download .ipynb)",
    )
    wrong_format = Phrase(
        "{name} has nbformat version {major}, expected 4"
        + ARROW
        + "open it in a current Jupyter or Colab and save it again",
        "у {name} версия формата nbformat {major}, нужна 4"
        + ARROW
        + "откройте его в современном Jupyter или Colab и сохраните снова",
    )
    not_a_notebook = Phrase(
        "{name} is not a valid notebook ({error})"
        + ARROW
        + "open it in Jupyter or Colab and save it again",
        "{name} — не корректный ноутбук ({error})"
        + ARROW
        + "откройте его в Jupyter или Colab и сохраните снова",
    )
    no_code = Phrase(
        "{name} has no code" + ARROW + "is this the right notebook?",
        "в {name} нет кода" + ARROW + "тот ли это ноутбук?",
    )
    unreadable = Phrase(
        "{name} cannot be read (permissions)",
        "{name} не читается (права доступа)",
    )
    not_gradable = Phrase(
        "{name} is not a notebook (.ipynb), a folder or a zip; submit the notebook itself",
        "{name} — не ноутбук (.ipynb), не папка и не zip; сдайте сам ноутбук",
    )
    not_regular = Phrase(
        "{name} is not a regular file or folder",
        "{name} — не обычный файл и не папка",
    )
    manifest_file_missing = Phrase(
        "the manifest (line {line}) names {file}, which is not in the submissions",
        "в манифесте (строка {line}) указан {file}, но среди работ его нет",
    )
    duplicate = Phrase(
        "{count} submissions for this student ({names}); none was graded: keep one, or list "
        "the one to grade in --manifest",
        "{count} работы от одного студента ({names}); ни одна не проверена: оставьте одну "
        "или укажите нужную в --manifest",
    )


class Apps:
    """Why a web-app submission cannot be taken (``pipeline/services/intake.py``)."""

    not_an_app = Phrase(
        "{name} is neither an app folder, a .py file nor a notebook"
        + ARROW
        + "submit the folder that holds {entry}",
        "{name} — не папка приложения, не файл .py и не ноутбук"
        + ARROW
        + "сдайте папку, в которой лежит {entry}",
    )
    folder_itself = Phrase("submit the folder itself", "сдайте саму папку")
    no_entry = Phrase(
        "{name} has no {entry} and no notebook that defines the app"
        + ARROW
        + "put the app's code in {entry} (see the assignment's template)",
        "в {name} нет {entry} и нет ноутбука с приложением"
        + ARROW
        + "положите код приложения в {entry} (см. шаблон задания)",
    )
    too_large = Phrase(
        "the submission is larger than the limit at {path}"
        + ARROW
        + "leave out data sets and large weights; see the assignment's limits",
        "работа превышает предел по размеру на {path}"
        + ARROW
        + "не кладите наборы данных и большие веса; см. ограничения задания",
    )
    stopped_while_tested = Phrase(
        "graded; the app stopped while it was tested",
        "проверено; приложение остановилось во время проверки",
    )
    network = Phrase(
        "the app tried to reach the internet ({where}) and did not start: weights must be in the "
        "submission or the image; the sandbox has no network{shown}",
        "приложение пыталось выйти в интернет ({where}) и не запустилось: веса должны быть в "
        "работе или в образе; в песочнице нет сети{shown}",
    )
    out_of_memory = Phrase(
        "the app used more memory than allowed and was stopped",
        "приложение заняло больше памяти, чем разрешено, и было остановлено",
    )
    exited = Phrase(
        "the app exited (status {code}) before it answered HTTP; run it yourself with "
        "`python app.py` and read the error{shown}",
        "приложение завершилось (код {code}), не ответив по HTTP; запустите его сами "
        "(`python app.py`) и прочитайте ошибку{shown}",
    )
    no_answer = Phrase(
        "the app did not answer HTTP on port {port} within {timeout:g} s: does it listen on the "
        "port in $PORT (host 0.0.0.0 or 127.0.0.1), and does it start quickly?{shown}",
        "приложение не ответило по HTTP на порту {port} за {timeout:g} с: слушает ли оно порт "
        "из $PORT (хост 0.0.0.0 или 127.0.0.1) и быстро ли запускается?{shown}",
    )
    last_output = Phrase("; its last output:\n{tail}", "; его последний вывод:\n{tail}")


class Files:
    """Why a file or folder of a submission is not read as it is (links, devices, limits)."""

    file_itself = Phrase("submit the notebook file itself", "сдайте сам файл ноутбука")
    small = Phrase(
        "submit the notebook itself (or a plain zip of a small folder)",
        "сдайте сам ноутбук (или обычный zip небольшой папки)",
    )
    clear_outputs = Phrase(
        "clear the outputs (Edit → Clear all outputs) and save again",
        "очистите выводы ячеек (Edit → Clear all outputs) и сохраните снова",
    )
    only_needed = Phrase(
        "zip only the notebook and the files it needs",
        "положите в zip только ноутбук и нужные ему файлы",
    )
    symlink = Phrase(
        "{name} is a symbolic link (to {target}); links are never followed",
        "{name} — символическая ссылка (на {target}); по ссылкам проверка не ходит",
    )
    special = Phrase(
        "{name} is not a regular file or folder (a device, FIFO or socket)",
        "{name} — не обычный файл и не папка (устройство, FIFO или сокет)",
    )
    unreadable = Phrase("{name} cannot be read ({error})", "{name} не читается ({error})")
    not_a_file = Phrase("{name} is not a regular file", "{name} — не обычный файл")
    larger_than = Phrase("{name} is larger than {limit_mib} MiB", "{name} больше {limit_mib} МиБ")
    unlistable = Phrase(
        "{name} cannot be listed ({error})", "содержимое {name} не читается ({error})"
    )
    too_many = Phrase(
        "{name} holds more than {limit} files and folders",
        "в {name} больше {limit} файлов и папок",
    )
    too_deep = Phrase(
        "{name} is nested more than {limit} folders deep",
        "в {name} вложенность папок больше {limit}",
    )
    damaged_zip = Phrase(
        "{name} is a damaged zip ({error})" + ARROW + "make the zip again (or submit the notebook "
        "itself)",
        "{name} — повреждённый zip ({error})" + ARROW + "создайте zip заново (или сдайте сам "
        "ноутбук)",
    )
    zip_members = Phrase(
        "{name} holds {count} files (limit {limit})", "в {name} {count} файлов (предел {limit})"
    )
    bad_member = Phrase(
        "{name}: member {member!r}... has {why}" + ARROW + "zip only the notebook and the files "
        "it needs, with short names",
        "{name}: у файла {member!r}... {why}" + ARROW + "положите в zip только ноутбук и нужные "
        "ему файлы, с короткими именами",
    )
    long_path = Phrase("a path longer than {limit} bytes", "путь длиннее {limit} байт")
    long_name = Phrase("a name longer than {limit} bytes", "имя длиннее {limit} байт")
    deep_member = Phrase(
        "nested more than {limit} folders deep", "вложенность папок больше {limit}"
    )
    nul_name = Phrase("a NUL byte in its name", "нулевой байт в имени")


class Verdicts:
    """The sentence a result carries: what happened to the submission and what to do."""

    graded = Phrase("graded", "проверено")
    graded_with_errors = Phrase(
        "graded; {count} cell(s) raised errors (see below)",
        "проверено; ячеек с ошибками: {count} (см. ниже)",
    )
    syntax_left_missing = Phrase(
        "graded; a syntax error ({where}) left {names} undefined: fix it and run the notebook "
        "from the top",
        "проверено; из-за синтаксической ошибки ({where}) не определены {names}: исправьте её "
        "и запустите ноутбук сначала",
    )
    syntax_where = Phrase("cell {cell}, {error}", "ячейка {cell}, {error}")
    missing_names = Phrase(
        "the notebook does not define {names} (it defines: {defined}); check the names against "
        "the template",
        "в ноутбуке не определены {names} (определены: {defined}); сверьте имена с шаблоном",
    )
    nothing = Phrase("nothing", "ничего")
    forbidden_static = Phrase(
        "the notebook imports {imports}, which this assignment forbids; remove those imports "
        "and solve it with the allowed libraries",
        "ноутбук импортирует {imports}, а в этом задании это запрещено; уберите эти импорты и "
        "решите задание разрешёнными библиотеками",
    )
    forbidden_import_at = Phrase("'{module}' (cell {cell})", "'{module}' (ячейка {cell})")
    forbidden_runtime = Phrase(
        "cell {cell}: {error}; remove that import and solve it with the allowed libraries",
        "ячейка {cell}: {error}; уберите этот импорт и решите задание разрешёнными библиотеками",
    )
    cell_time_limit = Phrase(
        "cell {cell} ({head!r}) ran past the time limit of {seconds:g} s",
        "ячейка {cell} ({head!r}) не уложилась в предел времени {seconds:g} с",
    )
    total_time_limit = Phrase(
        "the notebook ran past its total time limit of {seconds:g} s",
        "ноутбук не уложился в общий предел времени {seconds:g} с",
    )
    setup_time_limit = Phrase(
        "importing the libraries the notebook uses (to seed them) ran past the time limit of "
        "{seconds:g} s",
        "импорт библиотек ноутбука (чтобы задать им seed) не уложился в предел времени "
        "{seconds:g} с",
    )
    out_of_memory = Phrase(
        "cell {cell} ({head!r}) used more memory than allowed and was stopped",
        "ячейка {cell} ({head!r}) заняла больше памяти, чем разрешено, и была остановлена",
    )
    kernel_died = Phrase(
        "cell {cell} ({head!r}) made the kernel die (os._exit, a crash in native code, or memory)",
        "ячейка {cell} ({head!r}) обрушила ядро (os._exit, сбой в нативном коде или память)",
    )
    setup_died = Phrase(
        "the kernel died while importing the libraries the notebook uses",
        "ядро упало при импорте библиотек, которые использует ноутбук",
    )
    protocol_broken = Phrase(
        "cell {cell} ({head!r}) broke the kernel's connection to the grader ({detail})",
        "ячейка {cell} ({head!r}) разорвала связь ядра с проверяющей системой ({detail})",
    )
    setup_broken = Phrase(
        "the kernel broke its connection to the grader while it was set up ({detail})",
        "ядро разорвало связь с проверяющей системой во время подготовки ({detail})",
    )
    unreachable = Phrase(
        "the notebook ran, but then its kernel stopped answering the grader, so nothing could "
        "be tested ({detail}); did it close, block or break the kernel's channels?",
        "ноутбук выполнился, но потом его ядро перестало отвечать проверяющей системе, и "
        "проверить ничего не удалось ({detail}); не закрывает ли код каналы ядра, не "
        "блокирует ли их?",
    )
    sandbox_failed = Phrase(
        "the notebook could not be run: {detail}",
        "ноутбук не удалось запустить: {detail}",
    )
    grader_failed = Phrase(
        "the grader failed on this submission: {detail}; it is regraded on the next run",
        "проверяющая система дала сбой на этой работе: {detail}; работа будет проверена при "
        "следующем запуске",
    )
    grader_failed_kept = Phrase(
        "the grader failed on this submission: {detail}; it is kept, not regraded by the next run "
        "(it would stall again): regrade it with `--only {student}` or `--retry-errors`",
        "проверяющая система дала сбой на этой работе: {detail}; результат сохранён и при "
        "следующем запуске не перепроверяется (проверка снова зависла бы): перепроверьте её с "
        "`--only {student}` или `--retry-errors`",
    )
    interrupted = Phrase(
        "interrupted (Ctrl-C): nothing was graded", "прервано (Ctrl-C): ничего не проверено"
    )
    past_overall_limit = Phrase(
        "grading ran past its overall limit of {seconds:g} s and was stopped; nothing was scored: "
        "run the notebook from the top yourself to see where it stalls",
        "проверка не уложилась в общий предел {seconds:g} с и была остановлена; баллов нет: "
        "запустите ноутбук сначала сами и посмотрите, где он зависает",
    )
    worker_died = Phrase(
        "its worker process died twice (exit code {code})",
        "процесс проверки дважды завершился аварийно (код {code})",
    )
    task_lost = Phrase(
        "it was sent to a cluster node twice and neither finished it ({detail})",
        "работа дважды отправлялась на узел кластера, и ни один её не проверил ({detail})",
    )
    over_memory = Phrase(
        "grading used more than {mib} MiB on the host and was stopped",
        "проверка заняла больше {mib} МиБ памяти на сервере и была остановлена",
    )
    overdue = Phrase(
        "grading took longer than {seconds:g} s and was stopped",
        "проверка шла дольше {seconds:g} с и была остановлена",
    )


class Scores:
    """What a test's line in the feedback says besides pass or fail."""

    hidden_failed = Phrase("hidden test failed", "скрытый тест не пройден")
    metric_note = Phrase(
        "{title}: {value:.4g} (no points at {zero:g}, all at {full:g})",
        "{title}: {value:.4g} (0 баллов при {zero:g}, полный балл при {full:g})",
    )


class Bridged:
    """Why a call into the notebook failed, as a test's hint says it (the grader's own words:
    never the text of the notebook's exception, which could echo hidden inputs)."""

    not_defined = Phrase("the notebook does not define '{name}'", "в ноутбуке нет '{name}'")
    no_attribute = Phrase(
        "{owner} has no attribute or method '{attr}'", "у {owner} нет атрибута или метода '{attr}'"
    )
    nor = Phrase(" (nor {names})", " (и {names} тоже нет)")
    notebook_has = Phrase("the notebook has: {names}", "в ноутбуке есть: {names}")
    object_has = Phrase("it has: {names}", "у объекта есть: {names}")
    did_you_mean = Phrase("; did you mean {names}?", "; может быть, имелось в виду {names}?")
    nothing = Phrase("nothing", "ничего")
    either = Phrase(" or ", " или ")
    timeout = Phrase(
        "{target} did not finish within {seconds:g} s", "{target} не закончился за {seconds:g} с"
    )
    raised = Phrase(
        "{target} raised {type} on the test's data", "{target} выбросил {type} на данных теста"
    )


def missing_name(
    lang: Language, name: str, *, defined: list[str], tried: list[str], on_object: bool
) -> tuple[str, str]:
    """What is missing and what the notebook (or object) has instead, with near misses."""
    owner, _, attr = name.rpartition(".") if on_object else ("", "", name)
    what = Bridged.no_attribute(lang, owner=owner, attr=attr) if on_object else ""
    what = what or Bridged.not_defined(lang, name=name)
    others = [t for t in tried if t != attr]
    if others:
        what += Bridged.nor(lang, names=", ".join(repr(t) for t in others))
    public = [d for d in defined if not d.startswith("_")] or defined
    shown = ", ".join(public[:30]) + (", …" if len(public) > 30 else "")
    has = Bridged.object_has if on_object else Bridged.notebook_has
    hint = has(lang, names=shown or Bridged.nothing(lang))
    near = near_names(attr, defined)
    if near:
        hint += Bridged.did_you_mean(lang, names=Bridged.either(lang).join(map(repr, near)))
    return what, hint


def near_names(name: str, defined: list[str]) -> list[str]:
    """Up to three defined names close to ``name`` (a typo, a trailing underscore)."""
    return difflib.get_close_matches(name, defined, n=3, cutoff=0.6)
