//! Data scope: a user sees and changes only their organisation's subtree
//! (本级及以下). The subtree is named by the organisation's materialised path,
//! `/<city id>/<district id>/…/`; a record is in scope when its owning
//! organisation's path starts with the scope's path. The store applies this to
//! every query it runs for a user; nothing else decides it.

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
        org_path.starts_with(&self.path)
    }
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

    #[test]
    fn subtree_contains_descendants_only() {
        let city = OrgId::new();
        let district = OrgId::new();
        let other = OrgId::new();
        let city_path = root_path(city);
        let district_path = child_path(&city_path, district);
        let unit_path = child_path(&district_path, OrgId::new());
        let other_path = child_path(&city_path, other);
        let scope = Scope {
            org_id: district,
            path: district_path.clone(),
        };
        assert!(scope.contains_path(&district_path));
        assert!(scope.contains_path(&unit_path));
        assert!(!scope.contains_path(&city_path));
        assert!(!scope.contains_path(&other_path));
    }
}
