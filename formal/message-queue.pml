/*
 * Message queue: one Kafka partition, replicated on RF replicas, as the platform configures it.
 *
 * Constants (spin -D...; formal/constants.ts maps them from the stack config, defaults below are
 * the schema defaults so the file also runs on its own):
 *   RF        replication factor of the topic
 *   MINISR    min.insync.replicas of the topic
 *   BROKERS   brokers that host the partition's replicas (min(brokers, RF)); replica r lives on
 *             broker r % BROKERS, so RF > brokers puts two replicas on one broker
 *   UNCLEAN   unclean.leader.election.enable
 *   ACKS_ALL  producers use acks=all (the platform injects it); 0 = acks=1 (leader only)
 *   CRASHES   broker crashes in a run: RF - MINISR, the failures the topic claims to tolerate
 *             (producers keep going with that many replicas down)
 *   MSGS      messages produced in a run (model bound)
 *
 * A crash is the loss of a broker with its log (Kafka acknowledges from the page cache; durability
 * comes from replication, not fsync), and the broker stays down for the rest of the run. Followers
 * may lag at any time (the leader then drops them from the ISR) and rejoin once caught up.
 *
 * Properties (assertions, checked after every step):
 *   durable    every acknowledged message is held by at least one live replica
 *   served     when the partition has a leader, its log holds every acknowledged message
 *   available  while no follower has lagged and at most RF - MINISR brokers are down, a produce
 *              request finds a leader and enough in-sync replicas (it is not rejected)
 */
#ifndef RF
#define RF 3
#endif
#ifndef MINISR
#define MINISR 2
#endif
#ifndef BROKERS
#define BROKERS 3
#endif
#ifndef UNCLEAN
#define UNCLEAN 0
#endif
#ifndef ACKS_ALL
#define ACKS_ALL 1
#endif
#ifndef CRASHES
#define CRASHES 1
#endif
#ifndef MSGS
#define MSGS 2
#endif

#define NONE 255
#define at(r, i) lg[(r) * MSGS + (i)]

bool alive[RF];        /* replica's broker is up */
bool brokerUp[BROKERS];
bool isr[RF];
byte lg[RF * MSGS];    /* replica logs: message ids 1..MSGS */
byte size[RF];
byte leader = NONE;
byte acked = 0;        /* messages 1..acked are acknowledged to the producer */
byte next = 1;         /* message the producer is sending */
bool pending = false;  /* next is appended at the leader and waits for its acknowledgement */
byte crashes = 0;
bool lagged = false;   /* some follower fell out of the ISR without a crash */
byte downBrokers = 0;

/* ok := log of replica r contains message m */
inline holds(r, m, ok) {
  ok = false;
  k = 0;
  do
  :: k < size[r] -> if :: at(r, k) == m -> ok = true :: else -> skip fi; k++
  :: else -> break
  od
}

inline isrCount(n) {
  n = 0; k = 0;
  do :: k < RF -> if :: isr[k] && alive[k] -> n++ :: else -> skip fi; k++ :: else -> break od
}

/* The invariants; called at the end of every atomic step. */
inline check() {
  m = 1;
  do
  :: m <= acked ->
     ok = false; r = 0;
     do
     :: r < RF -> if :: alive[r] -> holds(r, m, ok2); ok = ok || ok2 :: else -> skip fi; r++
     :: else -> break
     od;
     if :: !ok -> printf("VIOLATION: durable: acknowledged message %d is on no live replica\n", m) :: else -> skip fi;
     assert(ok);                                   /* durable */
     if
     :: leader != NONE -> holds(leader, m, ok);
        if :: !ok -> printf("VIOLATION: served: leader %d serves a log without acknowledged message %d\n", leader, m) :: else -> skip fi;
        assert(ok)                                 /* served */
     :: else -> skip
     fi;
     m++
  :: else -> break
  od
}

/* Controller: a new leader from the live ISR, or (unclean) from any live replica; followers then
   truncate to the longest prefix they share with the new leader. */
inline elect() {
  leader = NONE; r = 0;
  do
  :: r < RF ->
     if
     :: alive[r] && isr[r] -> if :: leader = r :: skip fi
     :: else -> skip
     fi; r++
  :: else -> break
  od;
  if
  :: leader == NONE -> r = 0;
     do :: r < RF -> if :: alive[r] && isr[r] && leader == NONE -> leader = r :: else -> skip fi; r++ :: else -> break od
  :: else -> skip
  fi;
  if
  :: leader == NONE && UNCLEAN ->
     r = 0;
     do
     :: r < RF -> if :: alive[r] -> if :: leader = r :: skip fi :: else -> skip fi; r++
     :: else -> break
     od;
     if
     :: leader == NONE -> r = 0;
        do :: r < RF -> if :: alive[r] && leader == NONE -> leader = r :: else -> skip fi; r++ :: else -> break od
     :: else -> skip
     fi;
     if
     :: leader != NONE -> printf("EVENT: unclean election: out-of-sync replica %d becomes leader\n", leader);
        r = 0; do :: r < RF -> isr[r] = (r == leader); r++ :: else -> break od
     :: else -> skip
     fi
  :: else -> skip
  fi;
  if
  :: leader != NONE ->
     printf("EVENT: replica %d is elected leader (log length %d)\n", leader, size[leader]);
     r = 0;
     do
     :: r < RF ->
        if
        :: alive[r] && r != leader ->
           k = 0;
           do :: k < size[r] && k < size[leader] && at(r, k) == at(leader, k) -> k++ :: else -> break od;
           i = k; do :: i < size[r] -> at(r, i) = 0; i++ :: else -> break od;
           size[r] = k
        :: else -> skip
        fi; r++
     :: else -> break
     od
  :: else -> printf("EVENT: no replica can be elected: the partition is offline\n")
  fi;
  pending = false   /* an in-flight request fails with the old leader; the producer resends */
}

active proctype cluster() {
  byte r, k, i, m, n, b;
  bool ok, ok2;
  atomic {
    r = 0; do :: r < RF -> alive[r] = true; isr[r] = true; r++ :: else -> break od;
    b = 0; do :: b < BROKERS -> brokerUp[b] = true; b++ :: else -> break od;
    leader = 0
  };
end:
  do
  /* the producer sends the next message (an idempotent producer does not duplicate it) */
  :: atomic {
       next <= MSGS && !pending ->
       isrCount(n);
       if
       :: !lagged && downBrokers <= RF - MINISR ->
          if :: leader == NONE || (ACKS_ALL && n < MINISR) ->
               printf("VIOLATION: available: produce of message %d rejected with only %d broker(s) down\n", next, downBrokers)
          :: else -> skip fi;
          assert(leader != NONE && (!ACKS_ALL || n >= MINISR))   /* available */
       :: else -> skip
       fi;
       if
       :: leader != NONE && (!ACKS_ALL || n >= MINISR) ->
          holds(leader, next, ok);
          if :: !ok -> at(leader, size[leader]) = next; size[leader]++ :: else -> skip fi;
          printf("EVENT: leader %d appends message %d (ISR size %d)\n", leader, next, n);
          pending = true
       :: else -> skip
       fi;
       check()
     }
  /* acknowledgement: acks=all waits for every ISR member (and still needs MINISR of them) */
  :: atomic {
       pending && leader != NONE ->
       ok = true; r = 0;
       do
       :: r < RF -> if :: ACKS_ALL && isr[r] && alive[r] -> holds(r, next, ok2); ok = ok && ok2 :: else -> skip fi; r++
       :: else -> break
       od;
       isrCount(n);
       if
       :: ok && (!ACKS_ALL || n >= MINISR) ->
          printf("EVENT: message %d acknowledged (ISR size %d)\n", next, n);
          acked = next; next++; pending = false
       :: else -> skip
       fi;
       check()
     }
  /* a follower fetches the next entry from the leader; caught up, it rejoins the ISR */
  :: atomic {
       leader != NONE ->
       select(r : 0 .. RF - 1);
       if
       :: alive[r] && r != leader && size[r] < size[leader] ->
          at(r, size[r]) = at(leader, size[r]); size[r]++;
          if :: size[r] == size[leader] && !isr[r] -> isr[r] = true; printf("EVENT: replica %d caught up and rejoins the ISR\n", r) :: else -> skip fi
       :: else -> skip
       fi;
       check()
     }
  /* a follower lags and the leader drops it from the ISR */
  :: atomic {
       leader != NONE ->
       select(r : 0 .. RF - 1);
       if
       :: alive[r] && r != leader && isr[r] -> isr[r] = false; lagged = true;
          printf("EVENT: replica %d lags and leaves the ISR\n", r)
       :: else -> skip
       fi;
       check()
     }
  /* a broker hosting a replica crashes and loses its log */
  :: atomic {
       crashes < CRASHES ->
       select(b : 0 .. BROKERS - 1);
       if
       :: brokerUp[b] ->
          brokerUp[b] = false; crashes++; downBrokers++;
          printf("EVENT: broker %d crashes and loses its log\n", b);
          ok = false; r = 0;
          do
          :: r < RF ->
             if
             :: r % BROKERS == b -> alive[r] = false; isr[r] = false;
                k = 0; do :: k < MSGS -> at(r, k) = 0; k++ :: else -> break od; size[r] = 0;
                if :: r == leader -> ok = true :: else -> skip fi
             :: else -> skip
             fi; r++
          :: else -> break
          od;
          if :: ok -> elect() :: else -> skip fi
       :: else -> skip
       fi;
       check()
     }
  od
}
