//! Data scope: a user sees and changes only their organisation's subtree
//! (本级及以下). The subtree is named by the organisation's materialised path,
//! `/<city id>/<district id>/…/`; a record is in scope when its owning
//! organisation's path starts with the scope's path. The store applies this to
//! every query it runs for a user (`boai_store::scoped`, the only module that
//! turns it into SQL); the reaches wider than the subtree — programmes owned
//! above the user ([`Scope::contains_or_above`]), projects the city owns
//! ([`Scope::contains_or_city`]), what district and city staff may name
//! ([`Scope::is_district_or_above`]) — are decided here and nowhere else.

use crate::ids::OrgId;

/// The subtree a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The root of the subtree.
    pub org_id: OrgId,
    /// Its materialised path, ending in `/`.
    pub path: String,
}

impl Scope {
    /// Whether an organisation with this path lies within the scope.
    pub fn contains_path(&self, org_path: &str) -> bool {
        is_within(org_path, &self.path)
    }

    /// Whether an organisation lies within the scope or on the line above
    /// it (the scope's own ancestors): whose programmes apply to the caller.
    pub fn contains_or_above(&self, org_path: &str) -> bool {
        self.contains_path(org_path) || is_within(&self.path, org_path)
    }

    /// Whether an organisation lies within the scope or is the city (a root
    /// organisation): whose projects the caller may read and give to.
    pub fn contains_or_city(&self, org_path: &str) -> bool {
        is_root(org_path) || self.contains_path(org_path)
    }

    /// Whether the scope is the city's or a district's (not a unit's): such
    /// staff may act for any unit in their subtree.
    pub fn is_district_or_above(&self) -> bool {
        depth(&self.path) <= 1
    }
}

/// Whether `path` lies in the subtree rooted at `ancestor` (itself included).
pub fn is_within(path: &str, ancestor: &str) -> bool {
    path.starts_with(ancestor)
}

/// Depth of a path in the tree: 0 for the city, 1 for a district, 2 for a
/// unit (and 0 for the empty path, which is no organisation's).
pub fn depth(path: &str) -> usize {
    path.matches('/').count().saturating_sub(2)
}

/// Whether a path is a root organisation's (the city society's).
pub fn is_root(path: &str) -> bool {
    !path.is_empty() && depth(path) == 0
}

/// The materialised path of a child of `parent_path`.
pub fn child_path(parent_path: &str, id: OrgId) -> String {
    format!("{parent_path}{}/", id.0.simple())
}

/// The path of a root organisation (the city society).
pub fn root_path(id: OrgId) -> String {
    format!("/{}/", id.0.simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tree {
        city: String,
        district: String,
        unit: String,
        other_district: String,
        other_unit: String,
    }

    fn tree() -> Tree {
        let city = root_path(OrgId::new());
        let district = child_path(&city, OrgId::new());
        let unit = child_path(&district, OrgId::new());
        let other_district = child_path(&city, OrgId::new());
        let other_unit = child_path(&other_district, OrgId::new());
        Tree {
            city,
            district,
            unit,
            other_district,
            other_unit,
        }
    }

    fn scope(path: &str) -> Scope {
        Scope {
            org_id: OrgId::new(),
            path: path.to_owned(),
        }
    }

    #[test]
    fn subtree_and_the_wider_reaches() {
        let t = tree();
        // scope, organisation: [contains_path, contains_or_above, contains_or_city]
        let cases = [
            ("district", &t.district, &t.district, [true, true, true]),
            ("district", &t.district, &t.unit, [true, true, true]),
            ("district", &t.district, &t.city, [false, true, true]),
            ("district", &t.district, &t.other_district, [false, false, false]),
            ("district", &t.district, &t.other_unit, [false, false, false]),
            ("unit", &t.unit, &t.unit, [true, true, true]),
            ("unit", &t.unit, &t.district, [false, true, false]),
            ("unit", &t.unit, &t.city, [false, true, true]),
            ("unit", &t.unit, &t.other_district, [false, false, false]),
            ("unit", &t.unit, &t.other_unit, [false, false, false]),
            ("city", &t.city, &t.other_unit, [true, true, true]),
        ];
        for (name, s, org, want) in cases {
            let s = scope(s);
            let got = [s.contains_path(org), s.contains_or_above(org), s.contains_or_city(org)];
            assert_eq!(got, want, "{name} scope, organisation {org}");
        }
    }

    #[test]
    fn district_or_above_is_city_and_district_scope() {
        let t = tree();
        assert!(scope(&t.city).is_district_or_above());
        assert!(scope(&t.district).is_district_or_above());
        assert!(!scope(&t.unit).is_district_or_above());
        assert!(!scope(&child_path(&t.unit, OrgId::new())).is_district_or_above());
        // A system actor's empty scope reaches everything.
        assert!(scope("").is_district_or_above());
    }

    #[test]
    fn depth_and_root() {
        let t = tree();
        assert_eq!([&t.city, &t.district, &t.unit].map(|p| depth(p)), [0, 1, 2]);
        assert!(is_root(&t.city));
        assert!(!is_root(&t.district));
        assert!(!is_root(""));
        assert!(is_within(&t.unit, &t.city));
        assert!(is_within(&t.unit, &t.unit));
        assert!(!is_within(&t.city, &t.unit));
    }
}
