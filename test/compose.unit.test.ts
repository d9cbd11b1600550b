import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/** docker-compose.yml cannot run here (no Docker engine); check it structurally. */
describe('docker-compose.yml', () => {
  const doc = parse(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, { ports?: string[]; image?: string }> };

  it('has the same services as the local stack, on the same ports', () => {
    expect(Object.keys(doc.services).sort()).toEqual(['console', 'dynamodb', 'grafana', 'postgres', 'prometheus', 'redpanda']);
    const ports = Object.values(doc.services).flatMap((s) => s.ports ?? []);
    for (const p of ['9092:9092', '8081:8081', '8000:8000', '5432:5432', '9090:9090']) expect(ports).toContain(p);
  });

  it('mounts only files and folders that exist in the repository', () => {
    const mounts = Object.values(doc.services as Record<string, { volumes?: string[] }>)
      .flatMap((s) => s.volumes ?? [])
      .filter((v) => v.startsWith('./'))
      .map((v) => v.split(':')[0]!);
    expect(mounts.length).toBeGreaterThan(3);
    for (const m of mounts) expect(existsSync(m), m).toBe(true);
  });

  it('passes `docker compose config` where the compose plugin exists', () => {
    let hasCompose = true;
    try {
      execFileSync('docker', ['compose', 'version'], { stdio: 'ignore' });
    } catch {
      hasCompose = false;
    }
    // Without the plugin the structural checks above are what CI can do.
    if (!hasCompose) return;
    expect(() => execFileSync('docker', ['compose', '-f', 'docker-compose.yml', 'config', '-q'], { stdio: 'pipe' })).not.toThrow();
  });
});
