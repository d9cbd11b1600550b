import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../src/config/config.js';

/**
 * docker-compose.yml cannot run here (no Docker engine, in CI either), so it
 * is checked without Docker: against the rules of the Compose Specification
 * that a file like this one can break (top-level and service keys, port and
 * volume syntax, depends_on targets and conditions, healthcheck form), and
 * against the stack it stands for — the ports the pipeline's default
 * configuration connects to and the targets Prometheus scrapes. The npm
 * registry has no maintained package of the compose-spec JSON schema (one
 * single-release third-party copy), hence these rules rather than a schema.
 */
interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number)[];
  volumes?: string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; interval?: string; retries?: number; timeout?: string; start_period?: string };
  extra_hosts?: string[];
  user?: string;
  [key: string]: unknown;
}
interface ComposeFile {
  name?: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
}

const doc = parse(readFileSync('docker-compose.yml', 'utf8')) as ComposeFile;
const services = Object.entries(doc.services ?? {});

// Compose Specification: top-level elements and the service attributes (a subset: those a stack like this uses or could).
const TOP_LEVEL = new Set(['version', 'name', 'include', 'services', 'networks', 'volumes', 'configs', 'secrets']);
const SERVICE_KEYS = new Set([
  'build', 'command', 'container_name', 'cpus', 'depends_on', 'deploy', 'entrypoint', 'env_file', 'environment', 'expose', 'extra_hosts',
  'healthcheck', 'hostname', 'image', 'init', 'labels', 'logging', 'mem_limit', 'network_mode', 'networks', 'platform', 'ports', 'profiles',
  'restart', 'shm_size', 'stop_grace_period', 'stop_signal', 'ulimits', 'user', 'volumes', 'working_dir',
]);
const DEPENDS_ON_CONDITIONS = new Set(['service_started', 'service_healthy', 'service_completed_successfully']);
const PORT = /^(?:(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\]):)?(?:\d+(?:-\d+)?:)?\d+(?:-\d+)?(?:\/(?:tcp|udp|sctp))?$/;
const DURATION = /^(\d+(\.\d+)?(us|ms|s|m|h))+$/;

const publishedPort = (p: string | number) => Number(String(p).replace(/\/\w+$/, '').split(':').at(-2));
const portOf = (u: string) => Number(new URL(u.includes('://') ? u : `tcp://${u}`).port);
const dependsOn = (s: Service): Record<string, { condition?: string }> =>
  Array.isArray(s.depends_on) ? Object.fromEntries(s.depends_on.map((d) => [d, {}])) : (s.depends_on ?? {});

describe('docker-compose.yml (checked without Docker)', () => {
  it('uses only Compose Specification elements, a valid project name and an image for every service', () => {
    expect(Object.keys(doc).filter((k) => !TOP_LEVEL.has(k) && !k.startsWith('x-'))).toEqual([]);
    expect(doc.name).toMatch(/^[a-z0-9][a-z0-9_-]*$/);
    expect(services.length).toBeGreaterThan(0);
    for (const [name, s] of services) {
      expect(name).toMatch(/^[a-zA-Z0-9._-]+$/);
      expect(Object.keys(s).filter((k) => !SERVICE_KEYS.has(k) && !k.startsWith('x-')), name).toEqual([]);
      expect(typeof s.image === 'string' || s.build !== undefined, `${name}: image or build`).toBe(true);
      if (s.image) expect(s.image, name).toMatch(/^[\w.\-/:]+:[\w.-]+$/); // pinned tag, never implicit latest
    }
  });

  it('writes ports, volumes, environment, depends_on and healthchecks in their specified forms', () => {
    const named = new Set(Object.keys(doc.volumes ?? {}));
    for (const [name, s] of services) {
      for (const p of s.ports ?? []) expect(String(p), `${name} port`).toMatch(PORT);
      for (const v of s.volumes ?? []) {
        const [source, target, mode, ...rest] = v.split(':');
        expect(rest, `${name} volume ${v}`).toEqual([]);
        expect(target, `${name} volume ${v}`).toMatch(/^\//);
        if (mode !== undefined) expect(['ro', 'rw', 'z', 'Z'], `${name} volume ${v}`).toContain(mode);
        if (source!.startsWith('./')) expect(existsSync(source!), `${name} mounts ${source}, which does not exist`).toBe(true);
        else if (!source!.startsWith('/')) expect(named.has(source!), `${name} uses volume ${source}, not declared under volumes:`).toBe(true);
      }
      if (Array.isArray(s.environment)) for (const e of s.environment) expect(e, name).toMatch(/^[A-Za-z_][A-Za-z0-9_]*(=.*)?$/);
      else for (const [k, v] of Object.entries(s.environment ?? {})) {
        expect(k, name).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
        expect(['string', 'number', 'boolean'].includes(typeof v) || v === null, `${name} ${k}`).toBe(true);
      }
      for (const [target, dep] of Object.entries(dependsOn(s))) {
        expect(doc.services[target], `${name} depends on ${target}, which is not a service`).toBeDefined();
        const condition = dep.condition ?? 'service_started';
        expect(DEPENDS_ON_CONDITIONS.has(condition), `${name} → ${target}: ${condition}`).toBe(true);
        if (condition === 'service_healthy') expect(doc.services[target]?.healthcheck, `${name} waits for ${target} to be healthy, which has no healthcheck`).toBeDefined();
      }
      const h = s.healthcheck;
      if (h) {
        if (Array.isArray(h.test)) expect(['CMD', 'CMD-SHELL', 'NONE'], `${name} healthcheck`).toContain(h.test[0]);
        else expect(typeof h.test, `${name} healthcheck`).toBe('string');
        for (const d of [h.interval, h.timeout, h.start_period]) if (d !== undefined) expect(d, `${name} healthcheck`).toMatch(DURATION);
        if (h.retries !== undefined) expect(Number.isInteger(h.retries) && h.retries > 0, `${name} healthcheck retries`).toBe(true);
      }
    }
    // Each host port published once.
    const published = services.flatMap(([, s]) => (s.ports ?? []).map(publishedPort));
    expect(published.length).toBe(new Set(published).size);
  });

  it('runs the stack the pipeline expects: the ports its default configuration connects to, and the Prometheus scrape of its metrics', () => {
    expect(services.map(([n]) => n).sort()).toEqual(['console', 'dynamodb', 'grafana', 'postgres', 'prometheus', 'redpanda']);
    const defaults = loadConfig({});
    const portsOf = (service: string) => (doc.services[service]?.ports ?? []).map(publishedPort);
    expect(portsOf('redpanda')).toEqual(expect.arrayContaining([...defaults.kafkaBrokers.map(portOf), portOf(defaults.schemaRegistryUrl)]));
    expect(portsOf('dynamodb')).toContain(portOf(defaults.dynamodbEndpoint));
    expect(portsOf('postgres')).toContain(portOf(defaults.databaseUrl));
    expect(portsOf('prometheus')).toContain(portOf(defaults.prometheusUrl));
    // The database the default DATABASE_URL names exists in the container.
    const env = doc.services.postgres?.environment as Record<string, string>;
    expect(env.POSTGRES_DB).toBe(new URL(defaults.databaseUrl).pathname.slice(1));
    // Prometheus scrapes the host's pipeline on its default metrics port, with the alert rules the repository tests.
    const prometheus = readFileSync('scripts/compose/prometheus.yml', 'utf8');
    expect(prometheus).toContain(`host.docker.internal:${defaults.metricsPort}`);
    expect(doc.services.prometheus?.extra_hosts).toContain('host.docker.internal:host-gateway');
    expect(doc.services.prometheus?.volumes).toContain('./dashboards/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro');
  });
});
