//! The running state while one message is scanned, and how it turns into a score.
//!
//! The scanner in the parent module feeds it terms, unknown words, `!`, `?` and clause breaks;
//! [`Acc::finish`] applies sarcasm, impatience, shouting and `!` amplification and squashes the
//! raw sum into (-1, 1).

use super::lexicon::Kind;

/// Running state while scanning one message.
pub(super) struct Acc {
    total: f32,
    /// A negator is waiting for its term.
    negated: bool,
    neg_factor: f32,
    neg_verb: bool,
    neg_gap: u8,
    /// A hypothetical marker is waiting for its term.
    hypothetical: bool,
    hypo_gap: u8,
    /// Pending intensifier product, and the one in force when a negator came.
    boost: f32,
    boost_gap: u8,
    pre_neg_boost: f32,
    /// Sum of sarcasm-prone praise, and of everything scored after it.
    sarcasm: f32,
    after_sarcasm: f32,
    /// Praise in the current clause, discounted if the clause is a question.
    clause_praise: f32,
    clause_is_question: bool,
    bangs: u32,
    impatient: u32,
    run_q: u32,
    run_b: u32,
    words: u32,
    caps_words: u32,
}

/// Words or CJK characters a negator reaches across.
const NEG_WINDOW: u8 = 3;
/// Words or CJK characters an intensifier reaches across.
const BOOST_WINDOW: u8 = 2;
/// Cap on stacked intensifiers ("非常非常非常").
const MAX_BOOST: f32 = 2.5;
/// Raw penalty for a `??` / `?!` run and for shouting in capitals.
const IMPATIENCE: f32 = 0.6;
const SHOUTING: f32 = 0.8;
/// Extra strength per `!`, counted up to `MAX_BANGS`.
const BANG_GAIN: f32 = 0.1;
const MAX_BANGS: u32 = 5;
/// Raw weight of a verb negator that met no term.
const DANGLING_NEGATION: f32 = -0.5;
/// Weight kept by the first term after `如果` / "if".
const HYPOTHETICAL_WEIGHT: f32 = 0.3;
/// How negative the text after sarcasm-prone praise must be to flip it.
const SARCASM_TRIGGER: f32 = 0.5;
/// Share of a question clause's praise that is discounted.
const QUESTION_DISCOUNT: f32 = 0.8;
/// Squashing constant: raw sum `s` maps to `s / sqrt(s² + SQUASH)`.
const SQUASH: f32 = 4.0;

impl Acc {
    pub(super) fn new() -> Acc {
        Acc {
            total: 0.0,
            negated: false,
            neg_factor: 1.0,
            neg_verb: false,
            neg_gap: 0,
            hypothetical: false,
            hypo_gap: 0,
            boost: 1.0,
            boost_gap: 0,
            pre_neg_boost: 1.0,
            sarcasm: 0.0,
            after_sarcasm: 0.0,
            clause_praise: 0.0,
            clause_is_question: false,
            bangs: 0,
            impatient: 0,
            run_q: 0,
            run_b: 0,
            words: 0,
            caps_words: 0,
        }
    }

    /// A Latin word was read; `shouted` if it is written in capitals.
    pub(super) fn word(&mut self, shouted: bool) {
        self.words = self.words.saturating_add(1);
        self.caps_words = self.caps_words.saturating_add(u32::from(shouted));
    }

    pub(super) fn apply(&mut self, kind: Kind) {
        match kind {
            Kind::Term {
                plain,
                negated,
                sarcastic,
            } => self.term(plain, negated, sarcastic),
            Kind::Negator { factor, verb } => {
                self.pre_neg_boost = self.boost;
                self.boost = 1.0;
                self.negated = true;
                self.neg_factor = factor;
                self.neg_verb = verb;
                self.neg_gap = 0;
            }
            Kind::Hypothetical => {
                self.hypothetical = true;
                self.hypo_gap = 0;
            }
            Kind::Mild(w) => {
                if self.boost > 1.0 && !self.negated {
                    self.term(w, -0.8 * w, false);
                } else {
                    self.unit();
                }
            }
            Kind::Intensifier(m) => {
                // Under negation an intensifier softens rather than boosts.
                if !self.negated {
                    self.boost = (self.boost * m).min(MAX_BOOST);
                    self.boost_gap = 0;
                }
            }
            Kind::Contrast => {
                self.total *= 0.5;
                self.sarcasm *= 0.5;
                self.after_sarcasm *= 0.5;
                self.clause_praise *= 0.5;
                self.reset_modifiers();
            }
            Kind::Neutral => self.unit(),
            Kind::Question => self.clause_is_question = true,
        }
    }

    fn term(&mut self, plain: f32, negated: f32, sarcastic: bool) {
        let mut v = if self.negated {
            negated * self.neg_factor * self.pre_neg_boost.max(1.0)
        } else {
            plain * self.boost
        };
        if self.hypothetical {
            v *= HYPOTHETICAL_WEIGHT;
            self.hypothetical = false;
        }
        if sarcastic && !self.negated && v > 0.0 {
            self.sarcasm += v;
        } else if self.sarcasm > 0.0 {
            self.after_sarcasm += v;
        }
        if v > 0.0 {
            self.clause_praise += v;
        }
        self.total += v;
        self.reset_modifiers();
    }

    /// A word or character that is not in the lexicon: scopes run out.
    pub(super) fn unit(&mut self) {
        if self.negated {
            self.neg_gap += 1;
            if self.neg_gap > NEG_WINDOW {
                self.drop_negator();
            }
        }
        if self.hypothetical {
            self.hypo_gap += 1;
            if self.hypo_gap > NEG_WINDOW {
                self.hypothetical = false;
            }
        }
        if self.boost != 1.0 {
            self.boost_gap += 1;
            if self.boost_gap > BOOST_WINDOW {
                self.boost = 1.0;
            }
        }
    }

    /// Clause break: modifiers and the praise of the clause are settled.
    pub(super) fn boundary(&mut self) {
        if self.negated {
            self.drop_negator();
        }
        if self.clause_is_question {
            self.discount_question();
        }
        self.hypothetical = false;
        self.clause_praise = 0.0;
        self.clause_is_question = false;
        self.reset_modifiers();
    }

    /// A negator ran out of scope without meeting a term.
    fn drop_negator(&mut self) {
        if self.neg_verb {
            let v = DANGLING_NEGATION * self.neg_factor;
            self.total += if self.hypothetical {
                v * HYPOTHETICAL_WEIGHT
            } else {
                v
            };
            if self.sarcasm > 0.0 {
                self.after_sarcasm += v;
            }
        }
        self.negated = false;
        self.pre_neg_boost = 1.0;
    }

    /// The clause was a question: praise in it is mostly hypothetical
    /// ("好用吗", "is it any good?"), so keep only a fifth of it. Complaints in
    /// questions ("为什么还不发货?") are real and keep their weight.
    fn discount_question(&mut self) {
        let discount = QUESTION_DISCOUNT * self.clause_praise;
        self.total -= discount;
        if self.sarcasm > 0.0 {
            self.sarcasm = (self.sarcasm - discount).max(0.0);
        }
        self.clause_praise = 0.0;
    }

    /// A term consumed the pending negator and intensifier.
    fn reset_modifiers(&mut self) {
        self.negated = false;
        self.neg_factor = 1.0;
        self.pre_neg_boost = 1.0;
        self.boost = 1.0;
    }

    pub(super) fn bang(&mut self) {
        self.run_b = self.run_b.saturating_add(1);
        self.bangs = self.bangs.saturating_add(1);
        self.boundary();
    }

    pub(super) fn question(&mut self) {
        self.run_q = self.run_q.saturating_add(1);
        self.clause_is_question = true;
        self.boundary();
    }

    /// Ends a run of `!`/`?`; `??` and `?!` read as impatience, a lone `?` as
    /// an ordinary question.
    pub(super) fn close_run(&mut self) {
        if self.run_q >= 2 || (self.run_q >= 1 && self.run_b >= 1) {
            self.impatient = self.impatient.saturating_add(1);
        }
        self.run_q = 0;
        self.run_b = 0;
    }

    pub(super) fn finish(mut self) -> f32 {
        self.close_run();
        self.boundary();
        let mut s = self.total;
        if self.sarcasm > 0.0 && self.after_sarcasm <= -SARCASM_TRIGGER {
            s -= 2.0 * self.sarcasm;
        }
        if self.impatient > 0 && s < 1.0 {
            s -= IMPATIENCE * self.impatient.min(3) as f32;
        }
        if self.caps_words >= 2 && self.caps_words.saturating_mul(2) >= self.words && s < 1.0 {
            s -= SHOUTING;
        }
        if s != 0.0 {
            s *= 1.0 + BANG_GAIN * self.bangs.min(MAX_BANGS) as f32;
        }
        if !s.is_finite() {
            return 0.0;
        }
        // Beyond this the squash is ±1 anyway and s² could overflow.
        let s = s.clamp(-1.0e6, 1.0e6);
        (s / (s * s + SQUASH).sqrt()).clamp(-1.0, 1.0)
    }
}
