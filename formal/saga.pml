/*
 * Saga: an orchestrator runs N steps, each a command to a participant service over at-least-once
 * messaging; a failed step makes it compensate the steps done so far, in reverse order.
 *
 * Constants (spin -D...; formal/constants.ts maps them from resilience.sagas.<name>, defaults
 * below describe a two-step saga so the file also runs on its own):
 *   N            steps
 *   COMPENSABLE  bit i set: step i has a compensation (steps[i].compensable)
 *   IDEMPOTENT   bit i set: step i's participant deduplicates commands by saga id and step, and
 *                ignores a command that arrives after its compensation (steps[i].idempotent)
 *   CRASHES      orchestrator crashes in a run (model bound): it restarts from its persisted
 *                state and re-sends the command in flight
 *   REDELIVERIES duplicate deliveries of a command by the broker, at any later time (model bound)
 *
 * The orchestrator persists (phase, step) only after it has the participant's reply, so a crash
 * between sending and persisting re-sends the same command: the participant sees it twice.
 * A step's first execution decides its outcome (it succeeds or fails for a business reason);
 * a failed step has no effect.
 *
 * Properties:
 *   all-or-nothing  a finished saga has every step applied once (committed) or none (compensated)
 *   comp-after-step a compensation never runs more often than its step ran
 *   idempotent      no step's effect is ever applied twice
 *   terminates      (LTL, weak fairness) every started saga finishes
 */
#ifndef N
#define N 2
#endif
#ifndef COMPENSABLE
#define COMPENSABLE 3
#endif
#ifndef IDEMPOTENT
#define IDEMPOTENT 3
#endif
#ifndef CRASHES
#define CRASHES 1
#endif
#ifndef REDELIVERIES
#define REDELIVERIES 1
#endif

#define bit(mask, i) (((mask) >> (i)) & 1)

#define FORWARD 0
#define BACKWARD 1
#define COMMITTED 2
#define COMPENSATED 3
#define STUCK 4

#define NONE 255
#define DO 1
#define UNDO 2

/* orchestrator's persisted state */
byte phase = FORWARD;
byte cur = 0;          /* FORWARD: step to run; BACKWARD: steps 0..cur-1 remain to compensate */
bool finished = false;

/* participants' state, per step */
byte outcome[N];       /* 0 not decided yet, 1 succeeded, 2 failed */
byte effect[N];        /* times the step's effect is currently applied */
byte doRuns[N];        /* times the step's effect was applied */
byte undoRuns[N];      /* times its compensation ran */
bool tomb[N];          /* compensated: later commands for the step are ignored (idempotent only) */

/* the broker's pending redelivery */
byte lateKind = NONE;
byte lateStep = 0;
byte redeliveries = 0;
byte crashes = 0;

ltl terminates { <> finished }

/* Participant handles DO(step i). */
inline doStep(i) {
  if
  :: bit(IDEMPOTENT, i) && (tomb[i] || outcome[i] != 0) ->
     printf("EVENT: step %d: duplicate command ignored\n", i)
  :: else ->
     if
     :: outcome[i] == 0 -> if :: outcome[i] = 1 :: outcome[i] = 2 fi
     :: else -> skip
     fi;
     if
     :: outcome[i] == 1 -> effect[i]++; doRuns[i]++;
        printf("EVENT: step %d applied (effect now %d)\n", i, effect[i]);
        if :: effect[i] > 1 -> printf("VIOLATION: idempotent: step %d applied twice\n", i) :: else -> skip fi;
        assert(effect[i] <= 1)                        /* idempotent */
     :: else -> printf("EVENT: step %d fails\n", i)
     fi
  fi
}

/* Participant handles UNDO(step i). */
inline undoStep(i) {
  if
  :: bit(IDEMPOTENT, i) && tomb[i] -> printf("EVENT: step %d: duplicate compensation ignored\n", i)
  :: bit(IDEMPOTENT, i) && effect[i] == 0 -> tomb[i] = true;
     printf("EVENT: step %d: compensation of a step that never applied: recorded, nothing undone\n", i)
  :: else ->
     undoRuns[i]++;
     if :: effect[i] > 0 -> effect[i]-- :: else -> skip fi;
     if :: bit(IDEMPOTENT, i) -> tomb[i] = true :: else -> skip fi;
     printf("EVENT: step %d compensated (effect now %d)\n", i, effect[i]);
     if :: undoRuns[i] > doRuns[i] -> printf("VIOLATION: comp-after-step: compensation of step %d ran without its step\n", i) :: else -> skip fi;
     assert(undoRuns[i] <= doRuns[i])                 /* comp-after-step */
  fi
}

/* The broker may deliver a copy of this command again, later. */
inline maybeDuplicate(kind, i) {
  if
  :: redeliveries < REDELIVERIES && lateKind == NONE -> lateKind = kind; lateStep = i; redeliveries++
  :: true -> skip
  fi
}

active proctype orchestrator() {
  byte i;
  do
  :: atomic {
       phase == FORWARD && cur < N ->
       printf("EVENT: orchestrator sends step %d\n", cur);
       doStep(cur); maybeDuplicate(DO, cur)
     };
     if
     :: atomic { crashes < CRASHES -> crashes++; printf("EVENT: orchestrator crashes before persisting; restarts and resends\n") }
     :: atomic {
          true ->
          if
          :: outcome[cur] == 1 -> cur++
          :: else -> phase = BACKWARD; printf("EVENT: step %d failed: compensating %d step(s)\n", cur, cur)
          fi
        }
     fi
  :: atomic { phase == FORWARD && cur == N -> phase = COMMITTED; printf("EVENT: saga committed\n") }
  :: atomic {
       phase == BACKWARD && cur > 0 ->
       i = cur - 1;
       if
       :: !bit(COMPENSABLE, i) -> phase = STUCK;
          printf("EVENT: step %d has no compensation: the saga cannot undo it\n", i)
       :: else ->
          printf("EVENT: orchestrator sends compensation of step %d\n", i);
          undoStep(i); maybeDuplicate(UNDO, i)
       fi
     };
     if
     :: phase == STUCK -> skip
     :: else ->
        if
        :: atomic { crashes < CRASHES -> crashes++; printf("EVENT: orchestrator crashes before persisting; restarts and resends\n") }
        :: atomic { true -> cur-- }
        fi
     fi
  :: atomic { phase == BACKWARD && cur == 0 -> phase = COMPENSATED; printf("EVENT: saga compensated\n") }
  :: atomic {
       (phase == COMMITTED || phase == COMPENSATED || phase == STUCK) && lateKind == NONE ->
       /* every redelivery has landed: check the end state */
       i = 0;
       do
       :: i < N ->
          if
          :: phase == COMMITTED && effect[i] != 1 ->
             printf("VIOLATION: all-or-nothing: committed saga, but step %d is applied %d time(s)\n", i, effect[i]); assert(false)
          :: phase != COMMITTED && effect[i] != 0 ->
             printf("VIOLATION: all-or-nothing: saga ended (not committed), but step %d is still applied\n", i); assert(false)
          :: else -> skip
          fi; i++
       :: else -> break
       od;
       finished = true;
       printf("EVENT: saga finished\n");
       break
     }
  od
}

/* The broker redelivers a duplicate command at some later point. */
active proctype broker() {
end:
  do
  :: atomic {
       lateKind != NONE ->
       if
       :: lateKind == DO -> printf("EVENT: broker redelivers the command of step %d\n", lateStep); doStep(lateStep)
       :: else -> printf("EVENT: broker redelivers the compensation of step %d\n", lateStep); undoStep(lateStep)
       fi;
       lateKind = NONE
     }
  od
}
