import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InputError, UsageError } from '../core/errors.ts';
import { JsonlLogger, readLog } from './log.ts';

const dir = mkdtempSync(join(tmpdir(), 'log-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(dir, `run${n++}`, 'log.jsonl');
const line = (step: number) => `${JSON.stringify({ step, time: 1, loss: step / 10 })}\n`;

describe('JsonlLogger', () => {
  it('appends { step, time, ...scalars } lines that are on disk before close', async () => {
    const path = fresh();
    const log = JsonlLogger.open(path);
    const before = Date.now() / 1000;
    const rec = log.append({ step: 1, g1_l1: 0.5, adv: 0.69 });
    log.append({ step: 2, g1_l1: 0.25, adv: 0.7 });
    const text = readFileSync(path, 'utf8');
    assert.match(text, /^\{"step":1,"time":[0-9.]+,"g1_l1":0.5,"adv":0.69\}\n\{"step":2,/);
    assert.ok(rec.time >= before - 1e-3 && rec.time <= Date.now() / 1000 + 1e-3, `time ${rec.time}`);
    const records = await readLog(path);
    assert.deepEqual(records.map((r) => [r.step, r.g1_l1, r.adv]), [[1, 0.5, 0.69], [2, 0.25, 0.7]]);
    assert.equal(records[0].time, rec.time);
    log.close();
    log.close();
  });

  it('drops a torn last line when reopened, and readLog skips it meanwhile', async () => {
    const path = fresh();
    JsonlLogger.open(path).close();
    writeFileSync(path, `${line(1)}${line(2)}{"step":3,"ti`);
    assert.deepEqual((await readLog(path)).map((r) => r.step), [1, 2]);
    const log = JsonlLogger.open(path);
    assert.deepEqual(log.repaired, { partialLine: true, laterRecords: 0 });
    log.append({ step: 3, loss: 0.3 });
    log.close();
    assert.deepEqual((await readLog(path)).map((r) => r.step), [1, 2, 3]);
    assert.equal(readFileSync(path, 'utf8').split('\n').length, 4);
  });

  it('keeps an intact log as is', () => {
    const path = fresh();
    JsonlLogger.open(path).close();
    writeFileSync(path, `${line(1)}${line(2)}`);
    const log = JsonlLogger.open(path);
    assert.deepEqual(log.repaired, { partialLine: false, laterRecords: 0 });
    log.close();
    assert.equal(readFileSync(path, 'utf8'), `${line(1)}${line(2)}`);
  });

  it('drops the records after the resumed checkpoint', async () => {
    const path = fresh();
    JsonlLogger.open(path).close();
    writeFileSync(path, [1, 2, 3, 4, 5].map(line).join('') + '{"st');
    const log = JsonlLogger.open(path, { resumeFromStep: 3 });
    assert.deepEqual(log.repaired, { partialLine: true, laterRecords: 2 });
    log.append({ step: 4, loss: 9 });
    log.close();
    const records = await readLog(path);
    assert.deepEqual(records.map((r) => [r.step, r.loss]), [[1, 0.1], [2, 0.2], [3, 0.3], [4, 9]]);
  });

  it('records non-finite values as null and reads them back as NaN', async () => {
    const path = fresh();
    const log = JsonlLogger.open(path);
    log.append({ step: 0, loss: Number.NaN, ok: 1 });
    log.close();
    assert.match(readFileSync(path, 'utf8'), /"loss":null/);
    const [rec] = await readLog(path);
    assert.ok(Number.isNaN(rec.loss));
    assert.equal(rec.ok, 1);
  });

  it('refuses bad records, a closed log and a bad resume step', () => {
    const path = fresh();
    const log = JsonlLogger.open(path);
    assert.throws(() => log.append({ step: 1.5 }), UsageError);
    assert.throws(() => log.append({ step: -1 }), UsageError);
    assert.throws(() => log.append({ step: 1, time: 3 }), UsageError);
    assert.throws(() => log.append({ step: 1, loss: '0.5' as unknown as number }), UsageError);
    log.close();
    assert.throws(() => log.append({ step: 1 }), UsageError);
    assert.throws(() => JsonlLogger.open(path, { resumeFromStep: -2 }), UsageError);
    assert.equal(readFileSync(path, 'utf8'), '');
  });
});

describe('readLog', () => {
  it('names the corrupt line, and a missing file', async () => {
    const path = fresh();
    JsonlLogger.open(path).close();
    writeFileSync(path, `${line(1)}not json\n${line(3)}`);
    await assert.rejects(readLog(path), (e: Error) => e instanceof InputError && /line 2/.test(e.message));
    assert.throws(() => JsonlLogger.open(path), InputError);
    writeFileSync(path, `${line(1)}{"loss":1}\n`);
    await assert.rejects(readLog(path), (e: Error) => e instanceof InputError && /line 2.*step/.test(e.message));
    await assert.rejects(readLog(join(dir, 'absent.jsonl')), InputError);
  });
});
