//! Placeholder until the capitals module lands.
