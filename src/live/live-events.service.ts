import { Injectable, Logger } from '@nestjs/common';
import { LiveGateway } from './live.gateway';
import { LivePublisher, sinkOf, type UntypedEmitter } from './live-publisher';
import { LiveRepository } from './live.repository';

/**
 * The API's live-event publisher, injected into the services that change state. Emits through the
 * gateway's server: the Postgres adapter forwards each event to the other instances, which deliver
 * it to their own clients, so every subscriber gets it exactly once whichever instance it is on.
 */
@Injectable()
export class LiveEvents extends LivePublisher {
  constructor(gateway: LiveGateway, repository: LiveRepository) {
    const logger = new Logger('live-events');
    // Before the gateway is initialised (start-up) nobody can be subscribed: nothing to send.
    const sink = sinkOf((targets) => gateway.server?.to(targets) as UntypedEmitter | undefined);
    super(sink, repository, (message) => logger.warn(message));
  }
}
