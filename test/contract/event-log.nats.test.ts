import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { describe } from 'vitest';
import { createNatsEventLog, type NatsEventLog } from '../../src/adapters/nats/event-log.js';
import { SERVICE_URLS, requireService } from '../helpers/services.js';
import { eventLogContract } from './event-log.contract.js';

const available = await requireService('nats');

describe.skipIf(!available)('NATS JetStream adapters', () => {
  eventLogContract('NATS JetStream', async () => {
    const suffix = randomBytes(5).toString('hex');
    const servers = SERVICE_URLS.nats.replace(/^nats:\/\//, '');
    const connections: NatsConnection[] = [];
    const open = async (): Promise<NatsEventLog> => {
      const nc = await connect({ servers });
      connections.push(nc);
      return createNatsEventLog({
        connection: nc,
        stream: `TEST_EVENTS_${suffix}`,
        subjectPrefix: `test.${suffix}.events`,
      });
    };
    const log = await open();
    return {
      log,
      another: open,
      async close() {
        await log.close();
        await log.destroy();
        for (const nc of connections) await nc.drain();
      },
    };
  });
});
