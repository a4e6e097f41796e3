"""vae-course: the helper package of a hands-on course on variational autoencoders.

It has three parts, each importing only the parts below it:

* the student's library, in this folder: what the notebooks import and a student may
  read (:mod:`.data`, :mod:`.models`, :mod:`.losses`, :mod:`.train`, :mod:`.plots`,
  :mod:`.measures`, and :mod:`.checks` with one checker per exercise);
* :mod:`.interactive`: explorers and concept questions, widgets over pure functions;
* :mod:`.tools`: the instructor's command line (build, grade, doctor, ...).
"""

__version__ = "0.1.0"
