"""The data: the named datasets and sources (``DATASETS``), data files, tables of pairs, and the 8x8 digits.

The registry's list of datasets is the imports below: ``datasets`` registers the 2-D ones, and
each further module its own (``digits``, ``grids``). A new chapter's data adds a module and a name here.
"""
from . import datasets, digits, grids
from .datasets import DATASETS, Dataset, get_dataset, get_source, labelled_dataset, register_dataset

__all__ = ["datasets", "digits", "grids", "DATASETS", "Dataset", "get_dataset", "get_source", "labelled_dataset",
           "register_dataset"]
