//! Who wins a sell-out. A first-come-first-served engine serves buyers in the order they
//! arrived until the stock runs out and turns away everyone after: no one served arrived
//! after someone turned away. `out_of_order` measures how far a race was from that.

use super::Call;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
}

impl Percentiles {
    /// All zero: the latency of a run with no calls.
    pub const ZERO: Self = Self {
        p50: 0.0,
        p90: 0.0,
        p99: 0.0,
        p999: 0.0,
    };

    /// From a histogram of microseconds.
    pub fn of(hist: &Histogram<u64>) -> Self {
        let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
        Self {
            p50: ms(0.5),
            p90: ms(0.9),
            p99: ms(0.99),
            p999: ms(0.999),
        }
    }

    /// Of these latencies in µs; `None` when there are none.
    pub fn of_us(latencies: impl IntoIterator<Item = u64>) -> Option<Self> {
        let mut hist = histogram();
        for us in latencies {
            let _ = hist.record(us.max(1));
        }
        (!hist.is_empty()).then(|| Self::of(&hist))
    }
}

/// An empty histogram of µs latencies, from 1 µs to 60 s at 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

/// Who got the units, and what it cost them. Field names are the `--json` contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Fairness {
    /// Share of served buyers who arrived after at least one buyer who was turned away
    /// (refused for stock or out of retries). 0 is first come, first served.
    pub out_of_order: f64,
    /// Served buyers who arrived after the first buyer turned away (the numerator).
    pub served_out_of_order: u64,
    /// The most attempts any one buyer made.
    pub max_attempts: u32,
    /// Arrival to answer for buyers who were served, ms (`null` when none were).
    pub winners_ms: Option<Percentiles>,
    /// Arrival to answer for buyers who were turned away, ms (`null` when none were).
    pub losers_ms: Option<Percentiles>,
}

impl Fairness {
    /// Of a race's calls. Calls that failed for another reason (Redis down) count for
    /// `max_attempts` only: they were neither served nor turned away.
    pub fn of(calls: &[Call]) -> Self {
        let first_turned_away = calls
            .iter()
            .filter(|c| c.answer.outcome.turned_away())
            .map(|c| c.arrival)
            .min();
        let served = || calls.iter().filter(|c| c.answer.outcome == super::Outcome::Success);
        let served_count = served().count() as u64;
        let served_out_of_order = match first_turned_away {
            Some(first) => served().filter(|c| c.arrival > first).count() as u64,
            None => 0,
        };
        Self {
            out_of_order: if served_count == 0 {
                0.0
            } else {
                served_out_of_order as f64 / served_count as f64
            },
            served_out_of_order,
            max_attempts: calls.iter().map(|c| c.answer.attempts).max().unwrap_or(0),
            winners_ms: Percentiles::of_us(served().map(Call::latency_us)),
            losers_ms: Percentiles::of_us(
                calls
                    .iter()
                    .filter(|c| c.answer.outcome.turned_away())
                    .map(Call::latency_us),
            ),
        }
    }
}

impl Fairness {
    /// Winners' p50 and p99, then losers' p50 and p99, in ms: the latency columns of the
    /// table and of the sweep's CSV (`None` where that side had nobody).
    pub fn latency_columns(&self) -> [Option<f64>; 4] {
        let at = |p: Option<Percentiles>, f: fn(&Percentiles) -> f64| p.as_ref().map(f);
        [
            at(self.winners_ms, |p| p.p50),
            at(self.winners_ms, |p| p.p99),
            at(self.losers_ms, |p| p.p50),
            at(self.losers_ms, |p| p.p99),
        ]
    }
}

/// The fairness figures as a table, one row per strategy, for the terminal.
pub fn table(rows: &[(&str, &Fairness)]) -> String {
    let mut out = format!(
        "{:<8} {:>12} {:>12} {:>12} {:>11} {:>11} {:>11} {:>11}\n",
        "who won", "out_of_order", "served late", "max_attempts", "win p50ms", "win p99ms", "lose p50ms", "lose p99ms"
    );
    for (strategy, f) in rows {
        let [wp50, wp99, lp50, lp99] = f
            .latency_columns()
            .map(|ms| ms.map_or("-".into(), |v| format!("{v:.2}")));
        out.push_str(&format!(
            "{:<8} {:>12.3} {:>12} {:>12} {wp50:>11} {wp99:>11} {lp50:>11} {lp99:>11}\n",
            strategy, f.out_of_order, f.served_out_of_order, f.max_attempts,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{Answer, Outcome};
    use super::*;

    fn call(arrival: u64, outcome: Outcome, attempts: u32, latency_ms: u64) -> Call {
        Call {
            arrival,
            start_us: arrival * 10,
            end_us: arrival * 10 + latency_ms * 1000,
            answer: Answer {
                outcome,
                attempts,
                conflicts: attempts - 1,
                levels: Vec::new(),
            },
        }
    }

    /// Five buyers for three units. Buyer 2 was refused, then buyer 3 (who came later) was
    /// served: one of the three winners was served out of order.
    #[test]
    fn out_of_order_counts_winners_who_arrived_after_a_refusal() {
        use Outcome::*;
        let calls = [
            call(0, Success, 1, 2),
            call(1, Success, 3, 4),
            call(2, Rejected, 7, 9),
            call(3, Success, 2, 6),
            call(4, Rejected, 1, 1),
        ];
        let f = Fairness::of(&calls);
        assert_eq!(f.served_out_of_order, 1);
        assert!((f.out_of_order - 1.0 / 3.0).abs() < 1e-12, "{}", f.out_of_order);
        assert_eq!(f.max_attempts, 7);
        // HDR histograms keep 3 significant digits.
        let near = |got: f64, want: f64| assert!((got - want).abs() <= want * 1e-3, "{got} vs {want}");
        let winners = f.winners_ms.unwrap();
        near(winners.p50, 4.0);
        near(winners.p999, 6.0);
        let losers = f.losers_ms.unwrap();
        near(losers.p50, 1.0);
        near(losers.p999, 9.0);
    }

    /// The order calls are listed in does not matter; only arrival numbers do.
    #[test]
    fn first_come_first_served_scores_zero_in_any_listing_order() {
        use Outcome::*;
        let calls = [
            call(3, Rejected, 1, 1),
            call(0, Success, 1, 1),
            call(4, GaveUp, 9, 1),
            call(2, Success, 1, 1),
            call(1, Success, 1, 1),
        ];
        let f = Fairness::of(&calls);
        assert_eq!((f.out_of_order, f.served_out_of_order, f.max_attempts), (0.0, 0, 9));
        // A buyer out of retries counts as turned away: a later winner is out of order.
        let mut late = calls.to_vec();
        late.push(call(5, Success, 1, 1));
        let f = Fairness::of(&late);
        assert_eq!(f.served_out_of_order, 1);
        assert_eq!(f.out_of_order, 0.25);
    }

    /// No one turned away (enough stock) or no one served: nothing is out of order, and the
    /// missing side has no percentiles. A failed call is neither winner nor loser.
    #[test]
    fn one_sided_races() {
        use Outcome::*;
        let all_served = Fairness::of(&[call(0, Success, 1, 1), call(1, Failed, 1, 1), call(2, Success, 1, 1)]);
        assert_eq!(all_served.out_of_order, 0.0);
        assert!(all_served.losers_ms.is_none());
        let none_served = Fairness::of(&[call(0, Rejected, 1, 1)]);
        assert_eq!(none_served.out_of_order, 0.0);
        assert!(none_served.winners_ms.is_none());
        assert_eq!(Fairness::of(&[]).max_attempts, 0);
    }
}
