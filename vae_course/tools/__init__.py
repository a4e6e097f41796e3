"""The instructor's tools, behind one command, ``vae-course`` (:mod:`.cli`).

Building the student notebooks from ``solutions/`` (:mod:`.build`, one function per
transformation in :mod:`.student_notebook`), grading submissions (:mod:`.grade`, the
kernel side in :mod:`.grader_cell`, the table and files in :mod:`.gradebook`),
running notebooks on a fresh kernel (:mod:`.notebook_exec`) and checking an
installation (:mod:`.doctor`). This part may import everything below it, the student's
library and the interactive layer; nothing below imports it. Students never need it.
"""
