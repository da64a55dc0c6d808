//! Random quantities and the seeded generator behind every draw of a plan.

use serde::Deserialize;

/// A random quantity.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Dist {
    /// Always `value`.
    Fixed {
        /// The value.
        value: f64,
    },
    /// Uniform between `min` and `max` (integers: inclusive).
    Uniform {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
    /// Exponential with this mean.
    Exponential {
        /// The mean.
        mean: f64,
    },
    /// Log-normal with this mean and coefficient of variation (handle times).
    Lognormal {
        /// The mean.
        mean: f64,
        /// Standard deviation over mean.
        cv: f64,
    },
    /// Never happens (infinite patience).
    Never,
}

/// The randomness behind one draw, kept apart from the distribution it is mapped through: a
/// plan can fix a conversation's draw before either player knows which agent (with which
/// group's distribution) will take it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Draw {
    /// Uniform in `[0, 1)`.
    pub u: f64,
    /// Standard normal.
    pub z: f64,
}

impl Draw {
    /// A fresh draw.
    pub fn new(rng: &mut Rng) -> Self {
        Draw {
            u: rng.unit(),
            z: rng.normal(),
        }
    }
}

impl Dist {
    /// A draw.
    pub fn sample(&self, rng: &mut Rng) -> f64 {
        self.value(Draw::new(rng))
    }

    /// The value of a fixed draw under this distribution.
    pub fn value(&self, draw: Draw) -> f64 {
        match *self {
            Dist::Fixed { value } => value,
            Dist::Uniform { min, max } => min + (max - min) * draw.u,
            Dist::Exponential { mean } => -mean * (1.0 - draw.u).ln(),
            Dist::Lognormal { mean, cv } => {
                let sigma2 = (1.0 + cv * cv).ln();
                let mu = mean.ln() - sigma2 / 2.0;
                (mu + sigma2.sqrt() * draw.z).exp()
            }
            Dist::Never => f64::INFINITY,
        }
    }

    /// A whole-number draw (uniform bounds inclusive).
    pub fn sample_count(&self, rng: &mut Rng) -> u32 {
        match *self {
            Dist::Uniform { min, max } => {
                let span = (max.floor() - min.ceil()).max(0.0) as u64 + 1;
                min.ceil() as u32 + (rng.next() % span) as u32
            }
            _ => self.sample(rng).round().clamp(0.0, f64::from(u32::MAX)) as u32,
        }
    }

    /// The mean (infinite for `never`).
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Fixed { value } => value,
            Dist::Uniform { min, max } => (min + max) / 2.0,
            Dist::Exponential { mean } | Dist::Lognormal { mean, .. } => mean,
            Dist::Never => f64::INFINITY,
        }
    }
}

/// A small, fast, seedable generator (SplitMix64): plans must be reproducible from the seed on
/// every platform, which a dependency's default generator does not promise across versions.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for this seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// One of `items`, uniformly; `None` when empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get((self.next() % items.len() as u64) as usize)
        }
    }

    /// A generator for a sub-stream, so adding draws to one part of the plan does not shift
    /// another's.
    pub fn fork(&mut self, stream: u64) -> Rng {
        Rng(self.next() ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_have_their_means() {
        let mut rng = Rng::new(7);
        for dist in [
            Dist::Exponential { mean: 10.0 },
            Dist::Uniform { min: 2.0, max: 6.0 },
            Dist::Lognormal {
                mean: 120.0,
                cv: 0.8,
            },
        ] {
            let n = 200_000;
            let mean = (0..n).map(|_| dist.sample(&mut rng)).sum::<f64>() / f64::from(n);
            assert!((mean / dist.mean() - 1.0).abs() < 0.02, "{dist:?}: {mean}");
        }
        let counts: Vec<u32> = (0..1000)
            .map(|_| Dist::Uniform { min: 2.0, max: 6.0 }.sample_count(&mut rng))
            .collect();
        assert_eq!(counts.iter().min(), Some(&2));
        assert_eq!(counts.iter().max(), Some(&6));
    }
}
