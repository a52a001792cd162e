"""Shared base of import_catalog / import_customers / import_orders / import_events (a thin door).

Reading and mapping live in ecomops.services.ingest.files, validation and writes in ecomops.services.ingest.
Django skips command modules whose name starts with an underscore, so this is not a command itself.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from tqdm import tqdm

from ecomops.models import Store
from ecomops.services.ingest import IngestRejected, IngestResult, RowError, tables_analyse
from ecomops.services.ingest.files import (
    DATASET_COMMANDS,
    FORMATS,
    PRESETS,
    Converter,
    FileSpec,
    count_lines,
    preset_spec,
    read_records,
)

MAX_PRINTED_ERRORS = 50


class _Rollback(Exception):
    pass


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    result = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CommandError(f"{option} expects name=value, got {item!r}.")
        result[key.strip()] = value.strip()
    return result


class ImportCommand(BaseCommand):
    kind: str = ""  # "catalog" | "customers" | "orders" | "events"
    noun: str = ""  # what a row is, for messages
    fields: tuple[str, ...] = ()
    field_help: str = ""
    supports_create_missing = False
    analyse_models: tuple = ()  # the tables this importer fills (ANALYZEd after a successful import)

    def create_parser(self, prog_name, subcommand, **kwargs):
        commands = DATASET_COMMANDS.get(self.kind) or []
        presets = ", ".join(PRESETS[self.kind]) or "none"
        epilog = (
            f"Fields: {self.field_help}\n\n"
            "Mapping: columns named like a field map to it; --map SOURCE=FIELD maps others (repeatable; "
            "attributes.<key> / properties.<key> collect extra columns; FIELD '-' ignores a column). "
            "--set FIELD=VALUE gives every row a constant.\n"
            "Errors: each bad row is reported as 'line N, column C: reason' and nothing is written (exit 1); "
            "with --skip-invalid the valid rows are written and the bad ones go to a rejects CSV whose path is printed.\n"
            f"Presets: {presets}.\n"
        )
        if commands:
            epilog += "\nThe real datasets (run from the repository root):\n" + "\n".join(f"  {c}" for c in commands)
        parser = super().create_parser(prog_name, subcommand, epilog=epilog, **kwargs)
        from argparse import RawDescriptionHelpFormatter

        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="CSV, TSV, whitespace-separated or JSONL file")
        parser.add_argument("--store", required=True, help="Slug of an existing store")
        parser.add_argument("--preset", help=f"Dataset preset: {', '.join(PRESETS[self.kind]) or 'none'}")
        parser.add_argument("--format", choices=FORMATS, help="Default: from the extension (.csv .tsv .jsonl .txt)")
        parser.add_argument("--delimiter", help="CSV delimiter (default ',' or tab for tsv)")
        parser.add_argument("--columns", help="Comma-separated column names for a file without a header row")
        parser.add_argument("--map", action="append", metavar="COLUMN=FIELD", help="Map a source column to a field")
        parser.add_argument("--set", action="append", metavar="FIELD=VALUE", help="A constant field value")
        parser.add_argument(
            "--time-format", help="iso (default; must carry a time zone), unix, unix_ms, or a strptime pattern"
        )
        parser.add_argument("--time-zone", help="Zone for naive times from a strptime pattern (default UTC)")
        parser.add_argument("--explode", metavar="FIELD", help="JSONL: the list field whose items are the rows")
        parser.add_argument("--skip-invalid", action="store_true", help="Write valid rows, put bad ones in a rejects file")
        parser.add_argument("--rejects", help="Rejects CSV path (default var/ingest/rejects/...)")
        parser.add_argument("--limit", type=int, help="Read at most this many rows")
        parser.add_argument("--no-progress", action="store_true", help="No tqdm progress bar")
        if self.supports_create_missing:
            parser.add_argument(
                "--create-missing",
                action="store_true",
                help="Create referenced customers/products that do not exist (titled by their id); otherwise errors",
            )

    # --- the spec -----------------------------------------------------------------------------------------

    def build_spec(self, options) -> FileSpec:
        try:
            spec = preset_spec(self.kind, options["preset"]) if options.get("preset") else FileSpec()
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if options.get("format"):
            spec.format = options["format"]
        if options.get("delimiter"):
            spec.delimiter = options["delimiter"].replace("\\t", "\t")
        if options.get("columns"):
            spec.columns = [c.strip() for c in options["columns"].split(",")]
        spec.mapping.update(_pairs(options.get("map"), "--map"))
        spec.constants.update(_pairs(options.get("set"), "--set"))
        if options.get("time_format"):
            spec.time_format = options["time_format"]
        if options.get("time_zone"):
            spec.time_zone = options["time_zone"]
        if options.get("explode"):
            spec.explode = options["explode"]
        if options.get("limit") is not None:
            spec.limit = options["limit"]
        for name in spec.constants:
            if name not in self.fields and not name.startswith(("attributes.", "properties.")):
                raise CommandError(f"--set {name}: unknown field (fields: {', '.join(self.fields)})")
        return spec

    def handle(self, *args, **options):
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            store = Store.objects.get(slug=options["store"])
        except Store.DoesNotExist:
            raise CommandError(f"No store with slug {options['store']!r}.") from None
        spec = self.build_spec(options)
        try:
            spec.resolved_format(path)
            converter = Converter(spec, fields=self.fields)
            converter.check_targets()
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.converter = converter
        self.raw: dict[int, dict] = {}
        self.progress = tqdm(
            total=count_lines(path),
            unit="line",
            unit_scale=True,
            desc=f"{self.kind} {path.name}",
            disable=options["no_progress"],
            mininterval=0.5,
        )
        started = time.perf_counter()
        skip_invalid = options["skip_invalid"]
        self.records_seen = 0
        try:
            result = self.run_import(store=store, path=path, spec=spec, options=options)
            self.progress.update(self.progress.total - self.progress.n)  # the last record's lines
        except _Rollback:
            result = None
        except ValueError as exc:  # a file-level problem, e.g. a mapped column that is not in the file
            raise CommandError(str(exc)) from None
        finally:
            self.progress.close()
        if self.records_seen == 0:
            raise CommandError(f"{path.name}: no rows to import (the file is empty or has only a header row).")
        errors = self.errors if result is None else result.rejected
        if errors:
            self.report_errors(errors)
        if result is None:
            raise CommandError(
                f"{len(errors)} invalid row(s) in {path.name}; nothing was written. "
                "Fix them, or pass --skip-invalid to import the valid rows."
            )
        tables_analyse(self.analyse_models)
        elapsed = time.perf_counter() - started
        self.stdout.write(self.style.SUCCESS(self.summary(store, result, elapsed)))
        if errors and skip_invalid:
            rejects = self.write_rejects(path, errors, options.get("rejects"))
            self.stdout.write(self.style.WARNING(f"{len(errors)} row problem(s) rejected; rejects file: {rejects}"))

    # --- reading ------------------------------------------------------------------------------------------

    def canonical_rows(self, path: Path, spec: FileSpec) -> Iterator[tuple[int, dict]]:
        """Canonical rows; conversion errors go to self.errors; raw records of every line are kept for rejects."""
        last_line = 1
        for line, record in read_records(path, spec):
            self.records_seen += 1
            if line != last_line:
                self.progress.update(line - last_line)
                last_line = line
            row, errors = self.converter.convert(line, record)
            if errors:
                self.raw[line] = record
                self.errors.extend(errors)
            elif row is None:
                self.skipped += 1
            else:
                self.raw_keep(line, record)
                yield line, row

    def raw_keep(self, line: int, record: dict) -> None:
        self.raw[line] = record

    def run_service(self, service, *, store: Store, path: Path, spec: FileSpec, options, **extra) -> IngestResult:
        """For the small-table importers: read everything, then one service call (one transaction)."""
        self.errors: list[RowError] = []
        self.skipped = 0
        rows = list(self.canonical_rows(path, spec))
        if self.errors and not options["skip_invalid"]:
            # Run the service's validation too (then roll back), so one run lists every problem.
            with transaction.atomic():
                try:
                    self.errors.extend(service(store=store, rows=rows, skip_invalid=True, **extra).rejected)
                except IngestRejected as exc:
                    self.errors.extend(exc.errors)
                transaction.set_rollback(True)
            raise _Rollback
        try:
            with transaction.atomic():
                result = service(store=store, rows=rows, skip_invalid=options["skip_invalid"], **extra)
        except IngestRejected as exc:
            self.errors.extend(exc.errors)
            raise _Rollback from None
        result.rejected = sorted(self.errors + result.rejected, key=lambda e: e.row)
        result.received += sum(1 for e in {e.row for e in self.errors})
        return result

    def run_import(self, *, store: Store, path: Path, spec: FileSpec, options) -> IngestResult:
        raise NotImplementedError

    # --- reporting ----------------------------------------------------------------------------------------

    def report_errors(self, errors: list[RowError]) -> None:
        errors = sorted(errors, key=lambda e: e.row)
        for error in errors[:MAX_PRINTED_ERRORS]:
            self.stderr.write(f"line {error.row}, column {self.converter.column(error.field)}: {error.reason}")
        if len(errors) > MAX_PRINTED_ERRORS:
            self.stderr.write(f"... and {len(errors) - MAX_PRINTED_ERRORS} more")

    def write_rejects(self, path: Path, errors: Iterable[RowError], target: str | None) -> Path:
        if target:
            out = Path(target)
        else:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            out = Path(settings.VAR_DIR) / "ingest" / "rejects" / f"{path.stem}.{self.kind}.{stamp}.rejects.csv"
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["line", "column", "reason", "record"])
            for error in sorted(errors, key=lambda e: e.row):
                record = self.raw.get(error.row)
                writer.writerow(
                    [error.row, self.converter.column(error.field), error.reason, json.dumps(record, default=str) if record else ""]
                )
        return out

    def summary(self, store: Store, result: IngestResult, elapsed: float) -> str:
        parts = [f"created {result.created:,}", f"updated {result.updated:,}"]
        if result.duplicates:
            parts.append(f"already present {result.duplicates:,}")
        if getattr(self, "skipped", 0):
            parts.append(f"skipped {self.skipped:,} (event types not imported)")
        parts.append(f"rejected rows {len({e.row for e in result.rejected}):,}")
        auto = {k: v for k, v in (result.auto_created or {}).items() if v}
        if auto:
            parts.append("auto-created " + ", ".join(f"{v:,} {k}" for k, v in auto.items()))
        done = result.created + result.updated + result.duplicates
        rate = f"{done / elapsed:,.0f} {self.noun}s/s" if elapsed > 0 else ""
        return f"Imported {self.noun}s into store '{store.slug}': " + "; ".join(parts) + f" in {elapsed:.1f}s ({rate})."
