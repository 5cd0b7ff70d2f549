#!/usr/bin/env node
/**
 * `adstack` command: serve, migrate, seed --demo, auction, simulate-pacing (and the ML and
 * DSP-simulator commands). Configuration comes from ADSTACK_* variables (README "Configuration");
 * a bad variable stops the command with exit status 2 and names it.
 */
import { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config/config.js';
import { AUCTION_HELP, auctionAction } from './auction.js';
import { isClusterWorker, reportWorkerReady, runPrimary } from './cluster.js';
import { registerDspSimCommand, startDspSimulator } from './dsp-sim.js';
import { registerMlCommands } from './ml.js';
import { registerSimulatePacingCommand } from './simulate-pacing.js';
import { DEMO_ADVERTISER_KEY, DEMO_REQUEST, seedDemo } from '../wiring/demo-data.js';
import { createRuntime, loggerOptions, openStorage, type Runtime } from '../wiring/runtime.js';

const DEMO_OPENRTB_REQUEST = {
  id: 'demo-auction-1',
  imp: [
    {
      id: '1',
      tagid: 'plc_demo_banner',
      banner: { w: 300, h: 250 },
      bidfloor: 0.5,
      bidfloorcur: 'USD',
    },
  ],
  site: {
    id: 'news',
    domain: 'news.example',
    page: 'https://news.example/sports/marathon',
    keywords: 'running',
  },
  device: { devicetype: 4, os: 'ios', geo: { country: 'USA' } },
  user: { id: 'demo-user-1' },
  at: 2,
  tmax: 120,
  cur: ['USD'],
};

function demoDspCount(): number {
  const raw = process.env.ADSTACK_DEMO_DSPS;
  if (raw === undefined || raw.trim() === '') return 3;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) > 50) {
    process.stderr.write(
      `adstack: invalid configuration: ADSTACK_DEMO_DSPS: expected 0 to 50, got '${raw}'\n`,
    );
    process.exit(2);
  }
  return Number(raw);
}

const say = (msg: string): void => {
  process.stdout.write(`${msg}\n`);
};

function config(opts: { requireSecrets?: boolean } = {}): Config {
  try {
    return loadConfig(process.env, opts);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`adstack: invalid configuration: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

async function serve(opts: { demo?: boolean }): Promise<void> {
  const cfg = config();
  const startedAt = performance.now();
  if (cfg.workers > 1 && !isClusterWorker()) {
    await runPrimary(cfg, { demo: opts.demo === true }, say);
    return;
  }
  // Workers of a cluster: the primary has already migrated and seeded, and prints the banner.
  const quiet = isClusterWorker();

  // Signals are handled from the first moment: a SIGTERM during migrations or seeding waits for
  // start-up to finish, then closes cleanly (PGlite must be closed to keep its files consistent).
  let runtime: Promise<Runtime> | null = null;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    say(`${signal} received: finishing in-flight requests and closing…`);
    const force = setTimeout(() => {
      process.stderr.write('adstack: shutdown took over 10 s, exiting\n');
      process.exit(1);
    }, 10_000);
    force.unref();
    (runtime ?? Promise.reject(new Error('not started')))
      .then((rt) => rt.close())
      .then(
        () => process.exit(0),
        (e: unknown) => {
          process.stderr.write(`adstack: error during shutdown: ${String(e)}\n`);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  // The demo also runs a few simulated DSPs on loopback, so /openrtb2/auction shows external
  // bids next to the demo campaigns (ADSTACK_DEMO_DSPS=0 turns them off).
  // DSPs configured with ADSTACK_DSPS replace the simulated ones.
  const demoDsps = opts.demo === true && !quiet && cfg.dsps === null ? demoDspCount() : 0;
  const sim =
    demoDsps > 0
      ? await startDspSimulator({
          count: demoDsps,
          host: '127.0.0.1',
          seed: 7,
          // Prices around the demo campaigns' own, so both kinds of demand win some auctions.
          behaviour: { priceMedian: 4.5 },
        })
      : null;
  runtime = createRuntime(cfg, {
    demo: opts.demo === true && !quiet,
    logger: loggerOptions(cfg.logLevel),
    progress: say,
    ...(sim !== null
      ? { rtb: { dsps: sim.dsps.map((d) => ({ id: d.name, endpoint: d.url })) } }
      : {}),
  }).then((r) =>
    sim === null
      ? r
      : {
          ...r,
          close: async () => {
            await r.close();
            await sim.close();
          },
        },
  );
  const rt = await runtime;
  if (stopping) return;
  if (!quiet && cfg.adminKeyIsDefault)
    say(`WARNING: using the development admin key '${cfg.adminKey}'; set ADSTACK_ADMIN_KEY.`);
  if (!quiet && cfg.trackingSecretIsDefault)
    say('WARNING: using the development tracking secret; set ADSTACK_TRACKING_SECRET.');

  const address = await rt.app.listen({ port: cfg.port, host: cfg.host });
  if (quiet) {
    reportWorkerReady(address);
    return;
  }
  const base = cfg.port === 0 ? address : cfg.publicUrl;
  say('');
  say(
    `adstack is ready in ${((performance.now() - startedAt) / 1000).toFixed(1)} s: ${base}  (storage: ${rt.storage.describe})`,
  );
  if (opts.demo === true) {
    // The admin key is printed only when it is the public development default.
    const key = cfg.adminKeyIsDefault ? cfg.adminKey : '$ADSTACK_ADMIN_KEY';
    say('Try a decision:');
    say(
      `  curl -s -X POST ${base}/v1/decisions -H 'content-type: application/json' -d '${JSON.stringify(DEMO_REQUEST)}'`,
    );
    if (sim !== null) {
      say(`OpenRTB 2.6 auction (demo campaigns + ${sim.dsps.length} simulated DSPs on loopback):`);
      say(
        `  curl -s -X POST ${base}/openrtb2/auction -H 'content-type: application/json' -d '${JSON.stringify(DEMO_OPENRTB_REQUEST)}'`,
      );
    }
    say(`Management API (admin key): curl -s ${base}/v1/admin/campaigns -H "x-api-key: ${key}"`);
    say(
      `Demo advertiser key: ${DEMO_ADVERTISER_KEY}    OpenAPI: ${base}/docs/json    Metrics: ${base}/metrics`,
    );
  }
  say('');
}

async function runMigrate(): Promise<void> {
  const cfg = config({ requireSecrets: false });
  const s = await openStorage(cfg, say);
  say(`Schema is up to date (${s.describe}).`);
  await s.driver.close();
}

async function runSeed(opts: { demo?: boolean }): Promise<void> {
  if (opts.demo !== true) {
    process.stderr.write('adstack seed: only --demo is available\n');
    process.exit(2);
  }
  const cfg = config({ requireSecrets: false });
  const s = await openStorage(cfg, say);
  const n = await seedDemo(s.store);
  say(`Demo data set: ${n} objects created (${s.describe}).`);
  await s.driver.close();
}

const program = new Command()
  .name('adstack')
  .description('adstack: real-time ad server (ad decisions, tracking events, management API)');
program
  .command('serve')
  .description('Start the ad server')
  .option('--demo', 'load the demo data set first')
  .action(serve);
program.command('migrate').description('Apply the SQL migrations').action(runMigrate);
program
  .command('seed')
  .description('Load a data set')
  .option('--demo', 'the demo data set')
  .action(runSeed);
program
  .command('auction')
  .description(
    'Run one auction: JSON on stdin, outcome JSON on stdout (contract: src/cli/auction.ts)',
  )
  .option('--explain', 'also print eCPMs, clearing prices and each loser with its IAB loss reason')
  .addHelpText('after', AUCTION_HELP)
  .action(auctionAction);
registerDspSimCommand(program);
registerMlCommands(program);
registerSimulatePacingCommand(program);

program.parseAsync().catch((e: unknown) => {
  process.stderr.write(`adstack: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
