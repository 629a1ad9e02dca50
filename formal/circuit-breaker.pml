/*
 * Circuit breaker with retries: one client calling one backend host through the mesh, with the
 * retry policy and outlier detection the platform configures (resilience.retries and
 * resilience.circuitBreaker; the mesh and the gateway use the same numbers).
 *
 * Constants (spin -D...; formal/constants.ts maps them from the stack config, defaults below are
 * the schema defaults so the file also runs on its own):
 *   THRESHOLD          consecutive failures that open the breaker (eject the host)
 *   OPEN_TICKS         how long the breaker stays open, in outlier-detection intervals
 *                      (ejection time rounded up to whole intervals: the sweep un-ejects)
 *   RETRIES            retries per request (attempts = 1 + RETRIES)
 *   WINDOW             requests per retry-budget window (model bound)
 *   RETRY_TOKENS       retries the budget admits per window: budgetPercent of WINDOW, rounded down
 *   HALF_OPEN_TRIALS   attempts admitted to the host after the open interval (half-open)
 *   SUCCESS_THRESHOLD  successful trials that close the breaker again
 *
 * The backend either has an outage (down from the start, then recovers at some point and stays
 * up) or a blip (it is up, except that every try of one single request fails). Time passes in
 * ticks of one outlier-detection interval, interleaved arbitrarily with requests.
 *
 * Properties:
 *   open-blocks    no try reaches the backend while the breaker is open; half-open admits at most
 *                  HALF_OPEN_TRIALS tries
 *   per-request    a request makes at most 1 + RETRIES tries
 *   budget         retries per window never exceed the budget, and the backend sees at most
 *                  WINDOW + RETRY_TOKENS tries per window
 *   no-storm       the retries of one failing request never open the breaker on their own: a
 *                  blip must not eject a healthy host (retries amplifying one error into an outage)
 *   closes         (LTL, weak fairness) once the backend has recovered, the breaker closes
 */
#ifndef THRESHOLD
#define THRESHOLD 5
#endif
#ifndef OPEN_TICKS
#define OPEN_TICKS 3
#endif
#ifndef RETRIES
#define RETRIES 2
#endif
#ifndef WINDOW
#define WINDOW 10
#endif
#ifndef RETRY_TOKENS
#define RETRY_TOKENS 2
#endif
#ifndef HALF_OPEN_TRIALS
#define HALF_OPEN_TRIALS THRESHOLD
#endif
#ifndef SUCCESS_THRESHOLD
#define SUCCESS_THRESHOLD 1
#endif

#define CLOSED 0
#define OPEN 1
#define HALF 2

#define OK 0
#define FAIL 1
#define FASTFAIL 2

byte cb = CLOSED;
byte fails = 0;        /* consecutive failures seen by the breaker */
byte openLeft = 0;     /* ticks until the open breaker goes half-open */
byte trials = 0;       /* half-open tries admitted */
byte successes = 0;    /* half-open tries that succeeded */

bool blipMode;         /* chosen at start: blip or outage */
bool up;               /* the backend answers */
bool recovered = false;
bool blipActive = false;
bool blipDone = false;

byte tries = 0;        /* tries of the current request */
byte tokens = RETRY_TOKENS;
byte inWindow = 0;
byte retriesWin = 0;
byte hitsWin = 0;      /* tries that reached the backend in this window */

ltl closes { [] (recovered -> <> (cb == CLOSED)) }

inline open() {
  if
  :: blipMode -> printf("VIOLATION: no-storm: the retries of one failing request opened the breaker (%d consecutive failures)\n", fails)
  :: else -> skip
  fi;
  assert(!blipMode);                                   /* no-storm */
  cb = OPEN; openLeft = OPEN_TICKS; fails = 0;
  printf("EVENT: breaker opens for %d interval(s)\n", OPEN_TICKS)
}

init {
  atomic {
    if
    :: blipMode = true; up = true; printf("EVENT: backend healthy; one request will fail on every try (blip)\n")
    :: blipMode = false; up = false; printf("EVENT: backend outage begins\n")
    fi;
    run clock(); run client()
  };
  if
  :: !blipMode -> up = true; recovered = true; printf("EVENT: backend recovers\n")
  :: blipMode -> skip
  fi
}

proctype clock() {
end:
  do
  :: atomic {
       cb == OPEN ->
       openLeft--;
       if
       :: openLeft == 0 -> cb = HALF; trials = 0; successes = 0; fails = 0;
          printf("EVENT: open interval over: breaker half-open\n")
       :: else -> skip
       fi
     }
  od
}

proctype client() {
  byte result;
end:
  do
  :: atomic {
       tries = 0;
       if
       :: blipMode && !blipDone -> if :: blipActive = true; printf("EVENT: this request hits the blip\n") :: skip fi
       :: else -> skip
       fi
     };
     do
     :: atomic {
          tries++;
          if :: tries > 1 + RETRIES -> printf("VIOLATION: per-request: try %d of one request\n", tries) :: else -> skip fi;
          assert(tries <= 1 + RETRIES);                /* per-request */
          if
          :: cb == OPEN || (cb == HALF && trials >= HALF_OPEN_TRIALS) -> result = FASTFAIL;
             printf("EVENT: try %d fails fast: breaker open\n", tries)
          :: else ->
             assert(cb != OPEN);                       /* open-blocks */
             if :: cb == HALF -> trials++; assert(trials <= HALF_OPEN_TRIALS) :: else -> skip fi;
             hitsWin++;
             if :: hitsWin > WINDOW + RETRY_TOKENS -> printf("VIOLATION: budget: %d tries reached the backend in one window\n", hitsWin) :: else -> skip fi;
             assert(hitsWin <= WINDOW + RETRY_TOKENS); /* budget */
             if
             :: up && !blipActive -> result = OK; fails = 0;
                if
                :: cb == HALF -> successes++;
                   if :: successes >= SUCCESS_THRESHOLD -> cb = CLOSED; printf("EVENT: trial succeeds: breaker closes\n") :: else -> skip fi
                :: else -> skip
                fi
             :: else -> result = FAIL; fails++;
                printf("EVENT: try %d fails at the backend (%d consecutive)\n", tries, fails);
                if
                :: cb == CLOSED && fails >= THRESHOLD -> open()
                :: cb == HALF && trials >= HALF_OPEN_TRIALS && successes < SUCCESS_THRESHOLD -> open()
                :: else -> skip
                fi
             fi
          fi
        };
        if
        :: result == FAIL && tries < 1 + RETRIES && tokens > 0 ->
           atomic {
             tokens--; retriesWin++;
             if :: retriesWin > RETRY_TOKENS -> printf("VIOLATION: budget: %d retries in one window\n", retriesWin) :: else -> skip fi;
             assert(retriesWin <= RETRY_TOKENS);       /* budget */
             printf("EVENT: retry (budget left %d)\n", tokens)
           }
        :: else -> break
        fi
     od;
     atomic {
       if :: blipActive -> blipActive = false; blipDone = true :: else -> skip fi;
       inWindow++;
       if
       :: inWindow == WINDOW -> inWindow = 0; tokens = RETRY_TOKENS; retriesWin = 0; hitsWin = 0
       :: else -> skip
       fi
     }
  od
}
