import { INVENTORY_ERRORS, inventoryError } from './inventory-codes.js';
import { checkInventoryInput, INVENTORY_FIELDS, type InventoryInput } from './inventory-item.js';

const MAX_ROWS = 100_000;

interface CsvRecord {
  line: number;
  fields: string[];
}

/**
 * RFC 4180 CSV: fields separated by commas, optionally quoted with `"`, a quote doubled inside quotes,
 * line breaks (CRLF or LF) allowed inside quotes. Each record remembers the line it starts on, so an
 * error names the line a person sees in their editor.
 */
export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let atFieldStart = true;
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const endRecord = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '')) records.push({ line: recordLine, fields });
    fields = [];
    field = '';
    atFieldStart = true;
  };
  for (let i = 0; i < source.length; i += 1) {
    const ch = source[i]!;
    if (quoted) {
      if (ch === '"') {
        if (source[i + 1] === '"') {
          field += '"';
          i += 1;
        } else quoted = false;
      } else {
        if (ch === '\n') line += 1;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && atFieldStart) {
      quoted = true;
      atFieldStart = false;
    } else if (ch === '"') {
      throw inventoryError(INVENTORY_ERRORS.importInvalid, `line ${line}: a quote inside an unquoted field (quote the whole field and double the quote)`);
    } else if (ch === ',') {
      fields.push(field);
      field = '';
      atFieldStart = true;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && source[i + 1] === '\n') i += 1;
      endRecord();
      line += 1;
      recordLine = line;
    } else {
      field += ch;
      atFieldStart = false;
    }
  }
  if (quoted) throw inventoryError(INVENTORY_ERRORS.importInvalid, `line ${recordLine}: a quoted field is never closed`);
  endRecord();
  return records;
}

function asImportError(error: unknown): never {
  if (error instanceof Error && 'code' in error && (error as { code: string }).code.startsWith('inventory_')) {
    const e = error as Error & { code: string; publicMessage?: string };
    throw inventoryError(e.code === INVENTORY_ERRORS.locatorLooksSecret ? e.code : INVENTORY_ERRORS.importInvalid, e.publicMessage ?? e.message);
  }
  throw error;
}

function checkUniqueNames(rows: { input: InventoryInput; where: string }[]): InventoryInput[] {
  const seen = new Map<string, string>();
  for (const { input, where } of rows) {
    const before = seen.get(input.name);
    if (before) throw inventoryError(INVENTORY_ERRORS.importInvalid, `${where}, column "name": ${JSON.stringify(input.name)} is already on ${before}`);
    seen.set(input.name, where);
  }
  return rows.map((r) => r.input);
}

/** Parses and checks every row of a CSV import; the first bad row refuses the whole file. */
export function parseInventoryCsv(text: string): InventoryInput[] {
  const records = parseCsv(text);
  if (records.length === 0) throw inventoryError(INVENTORY_ERRORS.importInvalid, 'the file is empty (expected a header line)');
  const [header, ...rows] = records;
  const columns = header!.fields.map((f) => f.trim().toLowerCase());
  for (const column of columns) {
    if (!(INVENTORY_FIELDS as readonly string[]).includes(column)) {
      throw inventoryError(INVENTORY_ERRORS.importInvalid, `line ${header!.line}: unknown column ${JSON.stringify(column)} (expected ${INVENTORY_FIELDS.join(', ')})`);
    }
  }
  if (new Set(columns).size !== columns.length) throw inventoryError(INVENTORY_ERRORS.importInvalid, `line ${header!.line}: a column is named twice`);
  if (rows.length > MAX_ROWS) throw inventoryError(INVENTORY_ERRORS.importInvalid, `more than ${MAX_ROWS} rows; split the file`);
  const checked = rows.map(({ line, fields }) => {
    const where = `line ${line}`;
    if (fields.length !== columns.length) throw inventoryError(INVENTORY_ERRORS.importInvalid, `${where}: ${fields.length} fields where the header has ${columns.length}`);
    const raw: Record<string, unknown> = {};
    columns.forEach((column, index) => (raw[column] = fields[index]));
    try {
      return { input: checkInventoryInput(raw, where), where };
    } catch (error) {
      return asImportError(error);
    }
  });
  return checkUniqueNames(checked);
}

/** Parses and checks a JSON import: an array of objects with the CSV's column names as keys. */
export function parseInventoryJson(text: string): InventoryInput[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw inventoryError(INVENTORY_ERRORS.importInvalid, `not valid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(value)) throw inventoryError(INVENTORY_ERRORS.importInvalid, 'expected a JSON array of credentials');
  if (value.length > MAX_ROWS) throw inventoryError(INVENTORY_ERRORS.importInvalid, `more than ${MAX_ROWS} rows; split the file`);
  const checked = value.map((entry: unknown, index) => {
    const where = `item [${index}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw inventoryError(INVENTORY_ERRORS.importInvalid, `${where}: expected an object`);
    const raw = { ...(entry as Record<string, unknown>) };
    if (typeof raw.locator === 'object' && raw.locator !== null) raw.locator = JSON.stringify(raw.locator);
    try {
      return { input: checkInventoryInput(raw, where), where };
    } catch (error) {
      return asImportError(error);
    }
  });
  return checkUniqueNames(checked);
}
