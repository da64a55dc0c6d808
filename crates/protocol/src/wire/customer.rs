//! Who the customer is, as connectors describe them and agents see them: the tier (`tier` plus
//! `vip_level` on the wire) and the profile, and the helpers that read nested objects.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Private;
use crate::codec::Coded;
use crate::error::ErrorCode;

/// Deserializes a struct from a JSON object only. serde's derived structs also accept an array
/// of their fields in declaration order; a client message must not be readable two ways.
fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    struct ObjectVisitor<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map))
        }
    }

    d.deserialize_map(ObjectVisitor(PhantomData))
}

pub(super) fn optional_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    struct Object<T>(T);

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            object(d).map(Object)
        }
    }

    Ok(Option::<Object<T>>::deserialize(d)?.map(|o| o.0))
}

/// The language assumed when a customer message names none.
pub const DEFAULT_LANGUAGE: &str = "zh";

fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A customer's tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    /// No VIP level.
    Standard,
    /// VIP of the given level, 1 to 9; higher is more valuable.
    Vip(u8),
}

/// Highest VIP level.
pub const MAX_VIP_LEVEL: u8 = 9;

/// The wire spelling of a tier; the level travels beside it as `vip_level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum TierName {
    Standard,
    Vip,
}

fn tier_from_wire(name: TierName, level: Option<u8>) -> Result<Tier, Coded> {
    match (name, level) {
        (TierName::Standard, None) => Ok(Tier::Standard),
        (TierName::Standard, Some(_)) => Err(Coded::new(
            ErrorCode::InvalidField,
            "field `customer.vip_level` is only allowed with tier `vip`",
        )),
        (TierName::Vip, None) => Ok(Tier::Vip(1)),
        (TierName::Vip, Some(level @ 1..=MAX_VIP_LEVEL)) => Ok(Tier::Vip(level)),
        (TierName::Vip, Some(_)) => Err(Coded::new(
            ErrorCode::InvalidField,
            "field `customer.vip_level` must be between 1 and 9",
        )),
    }
}

fn tier_to_wire(tier: Tier) -> (TierName, Option<u8>) {
    match tier {
        Tier::Standard => (TierName::Standard, None),
        Tier::Vip(level) => (TierName::Vip, Some(level)),
    }
}

/// Who the customer is, as the connector describes them in `customer_message`.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    /// The platform's customer id.
    pub id: Private,
    /// Standard or VIP (`tier` plus `vip_level` on the wire; `vip_level` defaults to 1).
    pub tier: Tier,
    /// Free-form platform tags, e.g. `"new_buyer"`. Empty when omitted.
    pub tags: Vec<String>,
    /// Display name, if known.
    pub name: Option<Private>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerIn {
    id: Private,
    tier: TierName,
    #[serde(default)]
    vip_level: Option<u8>,
    #[serde(default, deserialize_with = "null_as_empty")]
    tags: Vec<String>,
    #[serde(default)]
    name: Option<Private>,
}

impl<'de> Deserialize<'de> for Customer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Customer::try_from(CustomerIn::deserialize(d)?).map_err(Coded::raise)
    }
}

impl TryFrom<CustomerIn> for Customer {
    type Error = Coded;

    fn try_from(wire: CustomerIn) -> Result<Self, Coded> {
        Ok(Customer {
            id: wire.id,
            tier: tier_from_wire(wire.tier, wire.vip_level)?,
            tags: wire.tags,
            name: wire.name,
        })
    }
}

/// The wire shape of [`Customer`] and [`OfferCustomer`], borrowed so encoding never clones.
#[derive(Serialize)]
struct CustomerOut<'a> {
    id: &'a str,
    tier: TierName,
    #[serde(skip_serializing_if = "Option::is_none")]
    vip_level: Option<u8>,
    tags: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

impl CustomerOut<'_> {
    fn write<S: Serializer>(
        id: &Private,
        tier: Tier,
        tags: &[String],
        name: Option<&Private>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let (tier, vip_level) = tier_to_wire(tier);
        CustomerOut {
            id,
            tier,
            vip_level,
            tags,
            name: name.map(Private::as_str),
        }
        .serialize(s)
    }
}

impl Serialize for Customer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        CustomerOut::write(&self.id, self.tier, &self.tags, self.name.as_ref(), s)
    }
}

/// The customer as shown to an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferCustomer {
    /// Customer id, possibly masked for display by the gateway.
    pub id: Private,
    /// Standard or VIP.
    pub tier: Tier,
    /// Platform tags.
    pub tags: Vec<String>,
    /// Display name, if known.
    pub name: Option<Private>,
}

// Same wire shape as `CustomerIn` but tolerant of unknown fields, like every server message.
#[derive(Deserialize)]
struct OfferCustomerIn {
    id: Private,
    tier: TierName,
    #[serde(default)]
    vip_level: Option<u8>,
    #[serde(default, deserialize_with = "null_as_empty")]
    tags: Vec<String>,
    #[serde(default)]
    name: Option<Private>,
}

impl<'de> Deserialize<'de> for OfferCustomer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        OfferCustomer::try_from(OfferCustomerIn::deserialize(d)?).map_err(Coded::raise)
    }
}

impl TryFrom<OfferCustomerIn> for OfferCustomer {
    type Error = Coded;

    fn try_from(wire: OfferCustomerIn) -> Result<Self, Coded> {
        Ok(OfferCustomer {
            id: wire.id,
            tier: tier_from_wire(wire.tier, wire.vip_level)?,
            tags: wire.tags,
            name: wire.name,
        })
    }
}

impl Serialize for OfferCustomer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        CustomerOut::write(&self.id, self.tier, &self.tags, self.name.as_ref(), s)
    }
}

impl From<Customer> for OfferCustomer {
    fn from(customer: Customer) -> Self {
        OfferCustomer {
            id: customer.id,
            tier: customer.tier,
            tags: customer.tags,
            name: customer.name,
        }
    }
}
