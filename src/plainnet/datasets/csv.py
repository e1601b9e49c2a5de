"""Tables from CSV files: ``X, y, feature_names = load_csv(path, target)``.

`read_table()` reads a file with pandas' C parser (imported only when a file is read, so
``import plainnet`` stays light) into a `Table`: the column names as written, and
each column as pandas inferred it (numbers, booleans, or text). What real files need:

* the delimiter is sniffed among comma, semicolon and tab (or given);
* a header row, or none (the columns are then named ``0, 1, ...``);
* missing values: empty cells, ``NA``, ``NaN``, ``?`` and the other pandas defaults, plus any
  given strings;
* any text encoding pandas knows (UTF-8 by default, a byte-order mark is skipped);
* scikit-learn's bundled files whose first row holds counts (``150,4,setosa,...``) are read
  as scikit-learn reads them, or refused with the reason;
* an index column written by pandas (unnamed, or holding ``0 .. n-1``) can be found
  (`Table.index_column()`) and dropped.

Only regular files are read (a FIFO would block forever, a device would never end), and
every error names the file and, where there is one, the line, the column and the cell.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DELIMITERS = (",", ";", "\t")
"""The delimiters `sniff_delimiter()` chooses from."""

NA_VALUES = ("", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "?", "#N/A", "<NA>", "None")
"""Cells read as missing values (pandas' defaults plus ``?``, as in UCI data)."""

SAMPLE_BYTES = 1 << 16
MAX_HEADER_BYTES = 1 << 26
"""The sample holds the first rows whole, however wide, up to this many bytes."""


@dataclass
class CSVOptions:
    """How to read a CSV file.

    Attributes
    ----------
    delimiter : str or None
        The field separator; None sniffs comma, semicolon or tab.
    header : bool
        Whether the first row names the columns (else they are named ``"0", "1", ...``).
    na_values : tuple of str
        Cells that mean "missing", besides `NA_VALUES`.
    encoding : str
        The text encoding (``"utf-8"`` by default; a byte-order mark is skipped).
    """

    delimiter: str | None = None
    header: bool = True
    na_values: tuple[str, ...] = field(default_factory=tuple)
    encoding: str = "utf-8"


class Table:
    """A CSV file read into columns.

    Attributes
    ----------
    path : Path
    names : list of str
        The column names (stripped), duplicates and the empty name included.
    frame : pandas.DataFrame
        The data, one column per name, labelled by position ``0 .. len(names) - 1``.
    note : str or None
        What was recognized about the file's layout (a count header), for the user.
    read_as_floats : bool
        Whether every column was read as float64 into one block (a file of numbers).
    """

    def __init__(self, path: Path, names: list[str], frame, options: CSVOptions,
                 data_start: int = 1, note: str | None = None, read_as_floats: bool = False):
        self.path = path
        self.names = names
        self.frame = frame
        self.options = options
        self.note = note
        self._data_start = data_start
        self._positions: dict[str, list[int]] = {}
        for j, name in enumerate(names):
            self._positions.setdefault(name, []).append(j)
        self._lines: list[int] | None = None
        self.read_as_floats = read_as_floats

    @property
    def source(self) -> str:
        return repr(str(self.path))

    def __len__(self) -> int:
        return len(self.frame)

    # -- columns --------------------------------------------------------------------
    def index(self, column: str | int, why: str | None = None) -> int:
        """The position of ``column``, a name or (when no column has that name) a position
        (negative counts from the end); ``ValueError`` naming the file's columns if absent.

        ``why`` says what the column is for, e.g. ``"the target"``, in the message.
        """
        return self.require([column], why)[0]

    def require(self, columns: list, why: str | None = None) -> list[int]:
        """The positions of ``columns``; one error naming every missing one."""
        found, missing = [], []
        for column in columns:
            j = self._find(column)
            if j is None:
                missing.append(column)
            else:
                found.append(j)
        if missing:
            s = "" if len(missing) == 1 else "s"
            reason = f" ({why})" if why else ""
            shown = ", ".join(repr(n) for n in self.names[:30])
            more = f", ... ({len(self.names) - 30} more)" if len(self.names) > 30 else ""
            raise ValueError(
                f"{self.source} has no column{s} {', '.join(map(repr, missing))}{reason}; its "
                f"columns are: {shown}{more}"
            )
        return found

    def _find(self, column: str | int) -> int | None:
        if isinstance(column, str):
            matches = self._positions.get(column.strip())
            if matches is None:
                text = column.strip()
                if re.fullmatch(r"-?\d+", text):
                    return self._find(int(text))
                return None
            if len(matches) > 1:
                raise ValueError(f"column {column.strip()!r} appears {len(matches)} times in "
                                 f"{self.source}; rename one")
            return matches[0]
        if isinstance(column, bool) or not isinstance(column, (int, np.integer)):
            raise TypeError(f"a column is a name or a position; got {column!r}")
        n = len(self.names)
        return int(column) % n if -n <= column < n else None

    def duplicates(self) -> list[str]:
        """The names held by more than one column."""
        return [name for name, where in self._positions.items() if len(where) > 1]

    def index_column(self) -> tuple[int, str] | None:
        """``(position, reason)`` of an index column written by pandas, or None.

        The first column is one when its name is empty (``df.to_csv()`` writes the index
        unnamed) or ``"Unnamed: 0"``, or when it holds exactly ``0, 1, ..., n - 1``. Used as a
        feature it gives away the row order (sorted files put each class in a run of rows).
        """
        if not self.names:
            return None
        name = self.names[0]
        if name == "" or re.fullmatch(r"Unnamed: 0", name):
            return 0, "it has no name"
        column = self.frame[0]
        if len(column) >= 3 and column.dtype.kind in "iuf":
            values = column.to_numpy()
            if np.array_equal(values, np.arange(len(values))):
                return 0, f"it holds the row numbers 0 .. {len(values) - 1}"
        return None

    def kind(self, j: int) -> str:
        """``"number"``, ``"bool"`` or ``"text"``: how pandas read column ``j``."""
        dtype = self.frame[j].dtype
        if dtype.kind == "b":
            return "bool"
        if dtype.kind in "iuf":
            return "number"
        if _is_boolean_text(self.frame[j]):
            return "bool"
        return "text"

    # -- cells ----------------------------------------------------------------------
    def missing(self, j: int) -> np.ndarray:
        """A boolean mask of the missing cells of column ``j``."""
        return self.frame[j].isna().to_numpy()

    def texts(self, column: str | int, why: str | None = None,
              allow_missing: bool = False) -> list:
        """The cells of ``column`` as stripped text (None for a missing cell when
        ``allow_missing``; else a missing cell is an error naming its line)."""
        j = self.index(column, why)
        series = self.exact_column(j)
        mask = series.isna().to_numpy()
        if mask.any() and not allow_missing:
            i = int(np.argmax(mask))
            raise ValueError(f"{self.source} line {self.line(i)}, column "
                             f"{self.names[j]!r}: missing value{_for(why)}")
        kind = series.dtype.kind
        cells = series.tolist()
        if kind == "f":
            cells = [None if m else _float_text(v) for v, m in zip(cells, mask, strict=True)]
        else:
            cells = [None if m else str(v).strip() for v, m in zip(cells, mask, strict=True)]
        return cells

    def numbers(self, columns: list, why: str | None = None, hint: str = "",
                allow_missing: bool = False) -> np.ndarray:
        """The named columns as a float64 array ``(n_rows, len(columns))`` (column-major).

        Booleans are 0 and 1. A cell that is not a number raises an error naming its line,
        column and text, followed by ``hint`` (e.g. how to leave the column out); so does an
        infinite value, and a missing one unless ``allow_missing`` (then it is NaN).
        """
        indices = self.require(columns, why)
        kinds = self.frame.dtypes.to_numpy()
        out = self._float_block(indices)
        if out is None:
            out = np.empty((len(self), len(indices)), dtype=np.float64, order="F")
            for k, j in enumerate(indices):  # column by column: no copy of the whole frame
                if kinds[j].kind in "iuf":
                    out[:, k] = self.frame[j].to_numpy()
                else:
                    out[:, k] = self._column_numbers(j, hint, why)
        inexact = [k for k, j in enumerate(indices) if kinds[j].kind not in "iub"]
        if inexact:  # a column whose sum is finite holds neither NaN nor an infinity
            sums = out[:, inexact].sum(axis=0) if len(inexact) < len(indices) else \
                out.sum(axis=0)
            inexact = [k for k, total in zip(inexact, sums, strict=True)
                       if not math.isfinite(total)]
        for k in inexact:  # integers are always finite
            bad = np.isinf(out[:, k]) if allow_missing else ~np.isfinite(out[:, k])
            if not bad.any():
                continue
            i, j = int(np.argmax(bad)), indices[k]
            value = out[i, k]
            what = "missing value" if math.isnan(value) else f"{value!r} is not a finite number"
            raise ValueError(f"{self.source} line {self.line(i)}, column {self.names[j]!r}: "
                             f"{what}{_for(why)}")
        return out

    def exact_column(self, j: int):
        """Column ``j`` as written: when the file was read as float64 and the column holds
        values of $2^{53}$ or more (integer ids a float64 rounds), the file is read again with
        pandas' own types first."""
        series = self.frame[j]
        if self.read_as_floats and np.nanmax(np.abs(series.to_numpy()), initial=0) >= 2**53:
            self.frame = _read_frame(self.path, self.options, len(self.names), self.source)
            self.read_as_floats = False
            series = self.frame[j]
        return series

    def _float_block(self, indices: list[int]) -> np.ndarray | None:
        """Columns ``indices`` as a view of the frame's memory, when the frame is one float64
        block (a file of numbers) and ``indices`` a run of consecutive columns; else None."""
        if not indices or indices != list(range(indices[0], indices[-1] + 1)):
            return None
        if not self.read_as_floats:
            return None
        whole = self.frame.to_numpy(copy=False)
        if whole.dtype != np.float64 or not whole.flags.f_contiguous:
            return None
        return whole[:, indices[0] : indices[-1] + 1]

    def _column_numbers(self, j: int, hint: str, why: str | None) -> np.ndarray:
        import pandas as pd

        series = self.frame[j]
        if self.kind(j) == "bool":
            return _booleans(series)
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        bad = np.isnan(values) & ~series.isna().to_numpy()
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{self.source} line {self.line(i)}, column {self.names[j]!r}: "
                             f"{str(series.iloc[i]).strip()!r} is not a number{_for(why)}{hint}")
        return values

    # -- lines ----------------------------------------------------------------------
    def line(self, i: int) -> int:
        """The file line (from 1) on which data row ``i`` ends."""
        if self._lines is None:
            self._lines = _record_lines(self.path, self.options, self._data_start)
        return self._lines[i] if 0 <= i < len(self._lines) else i + 1 + self._data_start


def read_table(path: str | os.PathLike, delimiter: str | None = None,
               options: CSVOptions | None = None) -> Table:
    """Read the CSV file ``path`` into a `Table`.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a path that is
    not a regular file (a directory, FIFO or device), an empty file, a file without data
    rows, a row of the wrong length, an unterminated quote (at the line where it opens),
    or text that is not in the given encoding. Duplicate column names are an error only
    when that column is used.
    """
    options = options or CSVOptions()
    if delimiter is not None:
        options = CSVOptions(delimiter, options.header, options.na_values, options.encoding)
    path = Path(os.fspath(path))
    check_regular_file(path, "CSV file")
    source = repr(str(path))
    sample = _sample(path, options.encoding, source)
    if not sample.strip():
        raise ValueError(f"{source} is empty; expected a header row and data rows")
    sep = options.delimiter or sniff_delimiter(sample)
    options = CSVOptions(sep, options.header, options.na_values, options.encoding)
    first, second = _first_records(sample, sep, source)
    counts = _count_header(first, second, source) if options.header else None
    if counts is not None:
        return _read_count_header(path, options, counts)
    numeric = _sample_is_numeric(sample, options, len(first))
    frame = _read_frame(path, options, len(first), source, numeric=numeric)
    names = [n.strip() for n in first] if options.header else [str(j) for j in
                                                               range(len(first))]
    floats = numeric and all(dtype == np.float64 for dtype in frame.dtypes)
    table = Table(path, names, frame, options, data_start=1 if options.header else 0,
                  read_as_floats=floats)
    _check_short_rows(table)
    return table


def check_regular_file(path: Path, what: str) -> None:
    """``FileNotFoundError`` unless ``path`` exists; ``ValueError`` unless it is a regular
    file (after symlinks): a FIFO blocks a reader forever and ``/dev/zero`` never ends."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"no {what} at {str(path)!r}") from None
    if stat.S_ISDIR(mode):
        raise ValueError(f"{str(path)!r} is a directory, not a {what}")
    if not stat.S_ISREG(mode):
        kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else
                "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else
                "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        raise ValueError(f"{str(path)!r} is {kind}; a {what} must be a regular file")


def sniff_delimiter(sample: str) -> str:
    """The delimiter among `DELIMITERS` that splits the sample's first rows into the
    same number (> 1) of fields, the most fields winning; a comma when none does."""
    lines = sample.splitlines()
    if len(sample) >= SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the sample may end inside a row
    text = "\n".join(lines[:50])
    best, best_width = ",", 1
    for sep in DELIMITERS:
        try:
            rows = [r for r in csv.reader(io.StringIO(text), delimiter=sep) if r]
        except csv.Error:
            continue
        widths = {len(r) for r in rows}
        if len(widths) == 1 and (width := widths.pop()) > best_width:
            best, best_width = sep, width
    return best


# -- reading ---------------------------------------------------------------------------
def _sample(path: Path, encoding: str, source: str) -> str:
    try:
        with open(path, "rb") as f:
            raw = f.read(SAMPLE_BYTES)
            while raw.count(b"\n") < 3 and len(raw) < MAX_HEADER_BYTES:  # very wide rows
                more = f.read(SAMPLE_BYTES * 4)
                if not more:
                    break
                raw += more
    except OSError as err:
        raise OSError(f"cannot read {source}: {err.strerror or err}") from None
    try:
        codec = _codec(encoding)
        return raw.decode(codec, errors="strict")
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as err:
        if len(raw) >= SAMPLE_BYTES and err.start >= len(raw) - 4:  # cut inside a character
            return raw[: err.start].decode(codec)
        raise _encoding_error(source, encoding) from None


def _encoding_error(source: str, encoding: str) -> ValueError:
    return ValueError(f"{source} is not {encoding} text; give its encoding, e.g. "
                      "--encoding latin-1 (or encoding='latin-1')")


def _first_records(sample: str, sep: str, source: str) -> tuple[list[str], list[str] | None]:
    try:
        rows = csv.reader(io.StringIO(sample), delimiter=sep)
        records = []
        for row in rows:
            if row and any(cell.strip() for cell in row):
                records.append(row)
                if len(records) == 2:
                    break
    except csv.Error:
        records = [sample.splitlines()[0].split(sep)]
    if not records:
        raise ValueError(f"{source} holds no data, only blank lines and delimiters")
    return records[0], records[1] if len(records) > 1 else None


def _sample_is_numeric(sample: str, options: CSVOptions, width: int) -> bool:
    """Whether every column of the sample's whole rows is a number that a float64 holds
    exactly (integers below $2^{53}$ in size, or floats, or missing), so that the file can be
    read straight into one float64 block."""
    import pandas as pd

    lines = sample.splitlines()
    if len(sample.encode(_codec(options.encoding), errors="replace")) >= SAMPLE_BYTES:
        lines = lines[:-1]  # the sample may end inside a row
    if len(lines) < 1 + options.header:
        return False
    try:
        frame = pd.read_csv(io.StringIO("\n".join(lines)), sep=options.delimiter,
                            header=0 if options.header else None, names=list(range(width)),
                            index_col=False, na_values=list(NA_VALUES) + list(
                                options.na_values), keep_default_na=True, engine="c")
    except (ValueError, pd.errors.ParserError):
        return False
    for j in range(width):
        column = frame[j]
        if column.dtype.kind == "f":
            continue
        if column.dtype.kind not in "iu" or \
                max(-int(column.min()), int(column.max())) >= 2**53:  # Python ints: exact
            return False
    return True


def _read_frame(path: Path, options: CSVOptions, width: int, source: str, skip: int = 0,
                numeric: bool = False):
    """The file as a DataFrame with columns labelled ``0 .. width - 1``.

    ``numeric`` (every column of the sample is a number) reads every column as float64 into
    one block, which `Table.numbers()` hands out without a copy; a cell further down that is
    not a number makes it read the file again, letting pandas infer each column's type.
    """
    import pandas as pd

    if numeric:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", pd.errors.ParserWarning)
                frame = _read_frame_as(path, options, width, source, skip, np.float64)
        except ValueError:  # a cell that is not a number
            pass
        else:  # one block: a view when pandas read the file in parallel chunks
            return pd.DataFrame(frame.to_numpy(copy=False), copy=False)
    return _read_frame_as(path, options, width, source, skip, None)


def _read_frame_as(path: Path, options: CSVOptions, width: int, source: str, skip: int,
                   dtype):
    import pandas as pd

    encoding = options.encoding  # pandas skips a UTF-8 byte-order mark itself, and fast
    try:
        # pandas' chunked reading (low_memory=True) takes half the time of one pass over the
        # whole file; a column whose chunks infer different types is read as objects and
        # sorted out by the column checks below, so its DtypeWarning says nothing new
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            frame = pd.read_csv(
                path, sep=options.delimiter, header=0 if options.header else None,
                names=list(range(width)), index_col=False, skiprows=skip or None,
                na_values=list(NA_VALUES) + list(options.na_values), keep_default_na=True,
                encoding=encoding, engine="c", dtype=dtype,
            )
    except UnicodeDecodeError:
        raise _encoding_error(source, options.encoding) from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"{source} is empty; expected a header row and data rows") from None
    except pd.errors.ParserError as err:
        raise _parser_error(err, path, options, width, source) from None
    if len(frame) == 0:
        raise ValueError(f"{source} has a header but no data rows")
    return frame


def _parser_error(err, path: Path, options: CSVOptions, width: int, source: str) -> ValueError:
    text = str(err)
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if fields:
        return ValueError(f"{source} line {fields.group(2)}: {fields.group(3)} fields, but "
                          f"the header has {width} columns")
    if "EOF inside string" in text:
        line = _unterminated_quote_line(path, options)
        return ValueError(f"{source} line {line}: a quote (\") opens a field that never "
                          "closes")
    return ValueError(f"{source} is not a readable CSV file: {' '.join(text.split())}")


def _unterminated_quote_line(path: Path, options: CSVOptions) -> int:
    """The line where the quoted field left open at the end of the file begins."""
    inside, opened, field_start = False, 1, True
    with open(path, encoding=_codec(options.encoding), errors="replace", newline="") as f:
        for number, line in enumerate(f, start=1):
            k = 0
            while k < len(line):
                ch = line[k]
                if inside:
                    if ch == '"' and line[k + 1 : k + 2] == '"':
                        k += 1  # an escaped quote
                    elif ch == '"':
                        inside = False
                elif ch == '"' and field_start:
                    inside, opened = True, number
                field_start = not inside and (ch in (options.delimiter, "\r", "\n")
                                              or (field_start and ch == " "))
                k += 1
    return opened


def _codec(encoding: str) -> str:
    """UTF-8 skipping a byte-order mark, or the encoding as given."""
    return "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding


def _record_lines(path: Path, options: CSVOptions, data_start: int) -> list[int]:
    """The line on which each data record ends (blank records skipped, as pandas does)."""
    lines = []
    with open(path, encoding=_codec(options.encoding), errors="replace", newline="") as f:
        reader = csv.reader(f, delimiter=options.delimiter, skipinitialspace=True)
        seen = 0
        for row in reader:
            if not row:
                continue
            seen += 1
            if seen > data_start:
                lines.append(reader.line_num)
    return lines


def _check_short_rows(table: Table) -> None:
    """pandas fills a row with too few fields with missing values; that is an error."""
    last = table.frame[len(table.names) - 1]
    if not last.isna().any():
        return
    width = len(table.names)
    codec = _codec(table.options.encoding)
    with open(table.path, encoding=codec, errors="replace", newline="") as f:
        reader = csv.reader(f, delimiter=table.options.delimiter, skipinitialspace=True)
        for row in reader:
            if row and len(row) < width and any(cell.strip() for cell in row):
                raise ValueError(f"{table.source} line {reader.line_num}: {len(row)} fields, "
                                 f"but the header has {width} columns")


# -- scikit-learn's count header -------------------------------------------------------
def _count_header(first: list[str], second: list[str] | None, source: str):
    """``(n_rows, n_features, class_names)`` when ``first`` is scikit-learn's count row
    (``150,4,setosa,versicolor,virginica``), else None."""
    cells = [c.strip() for c in first]
    if len(cells) < 2 or not all(re.fullmatch(r"\d+", c) for c in cells[:2]):
        return None
    classes = cells[2:]
    if any(_is_number(c) for c in classes):
        return None
    n_rows, n_features = int(cells[0]), int(cells[1])
    width = len(second) if second is not None else None
    if width != n_features + 1:
        raise ValueError(
            f"{source}: the first row {','.join(cells[:4])},... looks like scikit-learn's "
            f"count header ({n_rows} rows, {n_features} features), but the data rows have "
            f"{width} fields, not {n_features + 1}; refusing to read the counts as column "
            "names (give --no-header to read the file as data)"
        )
    return n_rows, n_features, classes


def _read_count_header(path: Path, options: CSVOptions, counts) -> Table:
    n_rows, n_features, classes = counts
    source = repr(str(path))
    width = n_features + 1
    plain = CSVOptions(options.delimiter, False, options.na_values, options.encoding)
    frame = _read_frame(path, plain, width, source, skip=1)
    if len(frame) != n_rows:
        raise ValueError(
            f"{source}: the first row says {n_rows} rows of {n_features} features (scikit-"
            f"learn's count header), but the file has {len(frame)} data rows; refusing to "
            "guess which is right"
        )
    names = [f"feature_{k}" for k in range(n_features)] + ["target"]
    note = f"{source} has scikit-learn's count header: {n_rows} rows, {n_features} features"
    target = frame[n_features]
    if classes and target.dtype.kind in "iu" and target.between(0, len(classes) - 1).all():
        frame[n_features] = np.asarray(classes, dtype=object)[target.to_numpy()]
        note += f", target classes {', '.join(classes)}"
    note += f"; columns named {names[0]} .. {names[-2]} and 'target'"
    table = Table(path, names, frame, plain, data_start=1, note=note)
    return table


# -- cells -----------------------------------------------------------------------------
_TRUE, _FALSE = {"true", "yes"}, {"false", "no"}


def _is_boolean_text(series) -> bool:
    if series.dtype.kind != "O":
        return False
    values = series.dropna()
    if len(values) == 0:
        return False
    try:
        lowered = {str(v).strip().lower() for v in values.unique()[:3]}
    except TypeError:
        return False
    if not lowered <= {"true", "false"}:
        return False
    return {str(v).strip().lower() for v in values.unique()} <= {"true", "false"}


def _booleans(series) -> np.ndarray:
    mask = series.isna().to_numpy()
    text = [str(v).strip().lower() for v in series.tolist()]
    values = np.array([1.0 if t in _TRUE else 0.0 for t in text])
    values[mask] = np.nan
    return values


def _float_text(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def _for(why: str | None) -> str:
    return f" ({why})" if why else ""


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _as_number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


# -- load_csv --------------------------------------------------------------------------
def load_csv(
    path: str | os.PathLike,
    target: str | int,
    *,
    features: list[str] | None = None,
    delimiter: str | None = None,
    header: bool = True,
    na_values: tuple[str, ...] = (),
    encoding: str = "utf-8",
    dtype=np.float64,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read a CSV file into ``(X, y, feature_names)``.

    Parameters
    ----------
    path : str or PathLike
        The file. The first row names the columns (unless ``header=False``); every other
        non-blank row is a sample.
    target : str or int
        The column holding ``y``: its name, or its position (negative counts from the end).
    features : list of str, optional
        The columns of ``X`` in this order (default: every column but the target, and but
        an index column written by pandas, which is dropped with a warning).
    delimiter : str, optional
        The field separator (default: sniffed among comma, semicolon and tab).
    header : bool
        Whether the first row names the columns (else they are ``"0", "1", ...``).
    na_values : tuple of str
        More cells meaning "missing" (an error here: use the CLI, which imputes them).
    encoding : str
        The file's text encoding (default UTF-8).
    dtype : float dtype
        The dtype of ``X`` (float64 by default).

    Returns
    -------
    X : ndarray (n_rows, n_features)
    y : ndarray (n_rows,)
        int64 when every target value is a whole number (class labels), float64 when every
        value is a number, else the text labels (a string array).
    feature_names : list of str

    Every feature cell must be a finite number or a boolean. A missing file raises
    ``FileNotFoundError``; an empty file, a missing column, a row of the wrong length, or a
    missing or non-numeric cell raise ``ValueError`` naming the line, the column and the
    value.
    """
    options = CSVOptions(delimiter, header, tuple(na_values), encoding)
    table = read_table(path, options=options)
    if isinstance(target, bool) or not isinstance(target, (str, int)):
        raise TypeError(f"target must be a column name or index; got {target!r}")
    if isinstance(target, int) and not -len(table.names) <= target < len(table.names):
        raise ValueError(f"target column index {target} is out of range for "
                         f"{len(table.names)} columns in {table.source}")
    t = table.index(target, "the target")
    if features is None:
        duplicates = table.duplicates()
        if duplicates:
            raise ValueError(f"{table.source} has duplicate column names {sorted(duplicates)}")
        columns = [j for j in range(len(table.names)) if j != t]
        found = table.index_column()
        if found is not None and found[0] != t:
            warnings.warn(index_column_warning(table, *found), UserWarning, stacklevel=2)
            columns.remove(found[0])
    else:
        columns = table.require(list(features), "a feature")
        if t in columns:
            raise ValueError(f"the target column {table.names[t]!r} is also among features")
    if not columns:
        raise ValueError("features must name at least one column")
    X = table.numbers(columns, "a feature").astype(dtype, copy=False)
    return X, _target_values(table, t), [table.names[j] for j in columns]


def index_column_warning(table: Table, position: int, reason: str) -> str:
    return (f"{table.source}: column {table.names[position]!r} looks like an index written "
            f"by pandas ({reason}); it is left out, because as a feature it would give away "
            "the row order")


def _target_values(table: Table, t: int) -> np.ndarray:
    """Column ``t`` as `load_csv` returns ``y``: int64 whole numbers, float64 numbers, or
    text labels."""
    column = table.exact_column(t)
    if column.dtype.kind == "i":
        return column.to_numpy(dtype=np.int64)
    if column.dtype.kind == "f":
        y = table.numbers([t], "the target")[:, 0]
        whole = y == np.round(y)
        if not whole.all():
            return y.copy()
        if np.abs(y).max(initial=0) < 2**53:
            return y.astype(np.int64)
    return _target_array(table.texts(t, "the target"))


def _target_array(labels: list[str]) -> np.ndarray:
    values = [_as_number(text) for text in labels]
    if any(v is None for v in values):
        return np.array(labels)
    y = np.array(values, dtype=np.float64)
    return y.astype(np.int64) if np.all(y == np.round(y)) else y
