// The batch-analytics original's rules, written out independently of the manifest: shared by the embedded and the real-server tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

// The original's rules, written out independently of the manifest.
export const FEE_PERCENT: Record<string, number> = { 'Credit Card': 2, 'Debit Card': 1, UPI: 0.3, 'Net Banking': 1.5 };
export const REGION_OF_STATE: Record<string, string> = {
  Maharashtra: 'West', Gujarat: 'West', Delhi: 'North', Rajasthan: 'North', 'Uttar Pradesh': 'North', Karnataka: 'South',
  'Tamil Nadu': 'South', Telangana: 'South', 'West Bengal': 'East', Odisha: 'East', Bihar: 'East',
};
export const STATE_OF_CITY: Record<string, string> = {
  Mumbai: 'Maharashtra', Pune: 'Maharashtra', Ahmedabad: 'Gujarat', Delhi: 'Delhi', Jaipur: 'Rajasthan', Lucknow: 'Uttar Pradesh',
  Bengaluru: 'Karnataka', Chennai: 'Tamil Nadu', Hyderabad: 'Telangana', Kolkata: 'West Bengal', Bhubaneswar: 'Odisha', Patna: 'Bihar',
};

export interface RawRow { line: number; transaction_id: string; transaction_time: string; customer_id: number; city: string; channel: string; amount: number; status: string; processing_time: number }
export interface Fact { transaction_id: string; day: string; channel: string; city: string; customer_id: number; amount: number; status: string; processing_time: number; bucket: string; revenue: number }

export const round2 = (x: number) => Math.round(x * 100) / 100;

export function rawPath(dataDir: string, date: string, file = 'raw') {
  const [y, m, d] = date.split('-');
  return file === 'raw' ? join(dataDir, 'raw', y, m, d, 'transactions.csv') : join(dataDir, 'processed', y, m, d, 'cleaned_transactions.parquet');
}

/** The raw file as written (plain CSV: the generated values hold no commas or quotes). */
export function readRaw(file: string): RawRow[] {
  const [header, ...lines] = readFileSync(file, 'utf8').trimEnd().split('\n');
  const names = header.split(',');
  return lines.map((text, i) => {
    expect(text).not.toContain('"');
    const values = text.split(',');
    const row = Object.fromEntries(names.map((n, j) => [n, values[j]])) as Record<string, string>;
    return {
      line: i + 2, transaction_id: row.transaction_id, transaction_time: row.transaction_time, customer_id: Number(row.customer_id), city: row.city,
      channel: row.channel, amount: Number(row.amount), status: row.status, processing_time: Number(row.processing_time),
    };
  });
}

/** Dedupe (first row of an id; rows without an id are no duplicates), validate, enrich: the facts and the rejects' reasons by line. */
export function expected(rows: RawRow[]): { facts: Fact[]; rejected: Map<number, string[]>; duplicates: number } {
  const seen = new Set<string>();
  const facts: Fact[] = [];
  const rejected = new Map<number, string[]>();
  let duplicates = 0;
  for (const row of rows) {
    if (row.transaction_id) {
      if (seen.has(row.transaction_id)) {
        duplicates++;
        continue;
      }
      seen.add(row.transaction_id);
    }
    const reasons = [
      ...(row.transaction_id ? [] : ['transaction_id']),
      ...(row.amount > 0 ? [] : ['amount']),
      ...(['SUCCESS', 'FAILED'].includes(row.status) ? [] : ['status']),
    ];
    if (reasons.length) {
      rejected.set(row.line, reasons);
      continue;
    }
    const fee = FEE_PERCENT[row.channel];
    facts.push({
      transaction_id: row.transaction_id, day: row.transaction_time.slice(0, 10), channel: row.channel, city: row.city, customer_id: row.customer_id,
      amount: row.amount, status: row.status, processing_time: row.processing_time,
      bucket: row.processing_time < 2 ? 'fast' : row.processing_time < 5 ? 'medium' : 'slow', revenue: round2((row.amount * fee) / 100),
    });
  }
  return { facts, rejected, duplicates };
}

export const dailyRevenue = (facts: Fact[], day: string) => round2(facts.filter((f) => f.day === day && f.status === 'SUCCESS').reduce((s, f) => s + f.revenue, 0));
