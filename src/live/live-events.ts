// Transitional: the live views' Socket.IO contract is contract/live.contract.ts. This re-export stays
// while web/ and the tests still import it from here.
export type {
  ClientToServerEvents,
  JobStatus,
  LiveRoom,
  LogChunkEvent,
  RunStatus,
  ServerToClientEvents,
  SubscribeReply,
  SubscribeRequest,
} from '../../contract/live.contract';
