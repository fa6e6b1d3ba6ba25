// The account's phase: the one place that says what state an account's
// pacing is in, and what moves it from one to another.

package pace

// phase is where an account is in the pacing model. Two things make it:
// whether the level (the plan's bucket) is settled or still being climbed
// to, and whether the rate is the level's ceiling or a measured share
// below it. All four of their pairs occur, so there are four phases.
//
//   - alone: the level is settled (the plan is given or looked up, or the
//     climb is over) and the account paces at its ceiling. Nothing goes
//     past the believed bucket; the bucket is spread over the work left
//     (peakPace).
//   - sharing: the level is settled and the account paces at the share of
//     its bucket it measured at a 429 episode (takeShare), below the
//     ceiling. One probe at a time goes past the believed share
//     (nextProbe); each accepted one raises the rate (roomFound).
//   - climbing: the plan is unknown and the account paces at the ceiling
//     of the level it has not yet ruled out. Up to maxProbes requests at a
//     time go past the believed bucket; once the account has accepted
//     more than the level's bucket lets through (ruledOut), the next level
//     is paced by (setLevel).
//   - climbingAtShare: climbing, after a 429 episode no probe caused (the
//     bucket may only have been spent before the run), at the share
//     measured then. Probes still go past the bucket as the climb's, but
//     an accepted one raises the rate as sharing's do (roomFound): it
//     neither makes the next 429 the climb's doing (tally.probeAccepted)
//     nor rules the level out on its answer; accepted requests within
//     the share do that.
//
// Transitions (Account.limited, accepted, roomFound, setLevel, UsePlan):
//
//   - start: climbing when the plan is unknown (and there is a larger plan
//     to climb to), alone otherwise.
//   - a 429 episode that measures a share (takeShare, see Account.limited):
//     to sharing, or climbingAtShare while the climb goes on, when the
//     share is below the ceiling; to alone, or climbing, when it is not.
//   - a 429 episode a probe caused while climbing, or the second episode no
//     probe caused: the climb ends (endClimb), to alone or sharing.
//   - an accepted probe at a share (roomFound): sharing stays sharing, and
//     climbingAtShare stays so, until the rate is back at the ceiling: then
//     alone, or climbing.
//   - a level ruled out (setLevel): climbing at the next level's ceiling,
//     or alone when it is the largest plan's.
//   - a plan looked up (UsePlan): the climb ends at that plan's level;
//     sharing when a 429 episode has come and the rate before it is below
//     the plan's ceiling (a measured share stands), alone otherwise.
type phase int

const (
	alone phase = iota
	sharing
	climbing
	climbingAtShare
)

func (p phase) String() string {
	return [...]string{"alone", "sharing", "climbing", "climbing at a share"}[p]
}

// climbs reports whether the level is still being climbed to.
func (p phase) climbs() bool { return p == climbing || p == climbingAtShare }

// atShare reports whether the rate is a measured share below the ceiling.
func (p phase) atShare() bool { return p == sharing || p == climbingAtShare }

// setRate paces at rate, at most the ceiling, and keeps the phase's say
// of whether the rate is a share of it.
func (a *Account) setRate(rate float64) {
	a.rate = min(a.ceiling, rate)
	switch below := a.rate < a.ceiling; {
	case a.phase.climbs() && below:
		a.phase = climbingAtShare
	case a.phase.climbs():
		a.phase = climbing
	case below:
		a.phase = sharing
	default:
		a.phase = alone
	}
}

// endClimb settles the level the account is at.
func (a *Account) endClimb() {
	switch a.phase {
	case climbing:
		a.phase = alone
	case climbingAtShare:
		a.phase = sharing
	}
}
