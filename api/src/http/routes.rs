//! The route table, read once from the OpenAPI document: which template a request matched
//! (the metric label) and which methods a path answers (the `Allow` header of a 405).

use std::collections::HashMap;

use poem_openapi::OperationId;
use serde_json::Value;

pub struct RouteTable {
    /// Operation id → route template, e.g. `get_municipality` → `/api/v1/municipalities/{number}`.
    templates: HashMap<String, String>,
    /// Route templates with the methods they answer, e.g. `("/api/v1/locations/{id}", "GET, PATCH")`.
    methods: Vec<(String, String)>,
}

impl RouteTable {
    /// Reads the table from an OpenAPI document (as poem-openapi renders it).
    pub fn from_spec(spec: &Value) -> Self {
        let mut templates = HashMap::new();
        let mut methods = vec![("/openapi.json".to_string(), "GET".to_string())];
        for (path, operations) in spec["paths"].as_object().into_iter().flatten() {
            let operations = operations.as_object().into_iter().flatten();
            let mut answered = Vec::new();
            for (method, operation) in operations {
                answered.push(method.to_uppercase());
                if let Some(id) = operation["operationId"].as_str() {
                    templates.insert(id.to_string(), path.clone());
                }
            }
            methods.push((path.clone(), answered.join(", ")));
        }
        Self { templates, methods }
    }

    /// The metric label of a request: its route template, `/docs`, or `unmatched`.
    pub fn label(&self, operation: Option<&OperationId>, path: &str) -> String {
        if let Some(template) = operation.and_then(|op| self.templates.get(op.0)) {
            return template.clone();
        }
        match path {
            "/openapi.json" => path.to_string(),
            docs if docs == "/docs" || docs.starts_with("/docs/") => "/docs".to_string(),
            _ => "unmatched".to_string(),
        }
    }

    /// The name a path parameter has in the route template of `operation`; poem-openapi
    /// reports them as `param0`, `param1`, ... in the order they stand in the path.
    pub fn path_parameter(&self, operation: &OperationId, reported: &str) -> Option<&str> {
        let index: usize = reported.strip_prefix("param")?.parse().ok()?;
        self.templates
            .get(operation.0)?
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .nth(index)
    }

    /// The `Allow` value for a request path, when a route matches it.
    pub fn allowed_methods(&self, path: &str) -> Option<&str> {
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        self.methods
            .iter()
            .find(|(template, _)| {
                let pattern: Vec<&str> = template.split('/').collect();
                pattern.len() == segments.len()
                    && pattern
                        .iter()
                        .zip(&segments)
                        .all(|(p, s)| (p.starts_with('{') && !s.is_empty()) || p == s)
            })
            .map(|(_, methods)| methods.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table() -> RouteTable {
        RouteTable::from_spec(&json!({"paths": {
            "/api/v1/locations": {
                "get": {"operationId": "list_locations"},
                "post": {"operationId": "create_location"}
            },
            "/api/v1/locations/{id}": {"get": {"operationId": "get_location"}},
            "/api/v1/locations/{id}/exceptions/{exception_id}": {
                "delete": {"operationId": "delete_opening_exception"}
            }
        }}))
    }

    #[test]
    fn a_path_is_matched_to_its_template_and_methods() {
        let routes = table();
        assert_eq!(
            routes.allowed_methods("/api/v1/locations/"),
            Some("GET, POST")
        );
        assert_eq!(routes.allowed_methods("/api/v1/locations/abc"), Some("GET"));
        assert_eq!(routes.allowed_methods("/openapi.json"), Some("GET"));
        assert_eq!(routes.allowed_methods("/api/v1/nothing"), None);
    }

    #[test]
    fn metric_labels_are_templates_never_concrete_paths() {
        let routes = table();
        let op = OperationId("get_location");
        assert_eq!(
            routes.label(Some(&op), "/api/v1/locations/1"),
            "/api/v1/locations/{id}"
        );
        assert_eq!(routes.label(None, "/docs/index.css"), "/docs");
        assert_eq!(routes.label(None, "/api/v1/locations/1/x"), "unmatched");
    }

    #[test]
    fn path_parameters_are_named_as_in_the_template() {
        let routes = table();
        let delete = OperationId("delete_opening_exception");
        assert_eq!(routes.path_parameter(&delete, "param0"), Some("id"));
        assert_eq!(
            routes.path_parameter(&delete, "param1"),
            Some("exception_id")
        );
        assert_eq!(routes.path_parameter(&delete, "param2"), None);
        assert_eq!(routes.path_parameter(&delete, "id"), None);
    }
}
