"""The instructor's half of the teaching kit; a student copy does not hold this folder.

It has what must not reach students: the reference solutions (the package itself), the hidden
cases, the catalogue of usual mistakes (wrong code, which is nearly right code), and the tools
that write a student copy, the solutions and the Gradescope autograder (``autograder``, with
the two scripts of ``gradescope/``).
"""
