//! The logged training curve: the mean meta-loss over fixed blocks of [`LOG_EVERY`]
//! iterations, so the curve (and its export) does not depend on how training was cut into
//! time-boxed chunks: the same link gives the same points.

/// Iterations per logged point.
pub const LOG_EVERY: usize = 10;

/// Accumulates one run's meta-loss between logged points.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LossLog {
    sum: f64,
    count: usize,
}

impl LossLog {
    /// Adds iteration `iter`'s loss; returns a point at every multiple of [`LOG_EVERY`] and
    /// at the `last` iteration.
    pub fn record(&mut self, iter: usize, loss: f64, last: bool) -> Option<(usize, f64)> {
        self.sum += loss;
        self.count += 1;
        if iter.is_multiple_of(LOG_EVERY) || last {
            self.flush(iter)
        } else {
            None
        }
    }

    /// The pending mean as a point at `iter` (e.g. after a single step), if any.
    pub fn flush(&mut self, iter: usize) -> Option<(usize, f64)> {
        (self.count > 0).then(|| {
            let p = (iter, self.sum / self.count as f64);
            *self = Self::default();
            p
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_fall_on_fixed_iterations() {
        let mut log = LossLog::default();
        let points: Vec<_> = (1..=25)
            .filter_map(|i| log.record(i, i as f64, i == 25))
            .collect();
        // means of 1..=10, 11..=20, 21..=25
        assert_eq!(points, vec![(10, 5.5), (20, 15.5), (25, 23.0)]);
        assert_eq!(log.flush(25), None);
    }
}
