//! The interface specification (接口规范, Art. 6): generated from the handlers themselves,
//! with what every operation shares declared once: bearer authentication, and the problem
//! response whose `type` is one of the codes of [`crate::error::PROBLEMS`].

use crate::error::PROBLEMS;
use crate::problem::TYPE_PREFIX;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Warden",
        version = "1",
        description = "Public-internet cyber-threat monitoring and handling platform (工信部网安〔2017〕202号). Errors are application/problem+json (RFC 9457) with a stable `type`; writes accept an Idempotency-Key header; lists page with an opaque cursor; times are RFC 3339 in Asia/Shanghai."
    ),
    components(schemas(crate::problem::Problem)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, api: &mut OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The name of the shared problem response among the components.
const PROBLEM_RESPONSE: &str = "Problem";

/// Declares the problem response once, its `type` enumerated, and refers every operation's
/// 4XX and 5XX answers to it. Runs on the finished document, so no route can miss it.
pub fn add_problems(api: &mut OpenApi) {
    let types: Vec<String> = PROBLEMS
        .iter()
        .map(|(code, _, _)| format!("{TYPE_PREFIX}{code}"))
        .collect();
    let listing: Vec<String> = PROBLEMS
        .iter()
        .map(|(code, status, title)| format!("`{code}` ({}): {title}", status.as_u16()))
        .collect();
    let components = api.components.get_or_insert_with(Default::default);
    if let Some(RefOr::T(utoipa::openapi::schema::Schema::Object(problem))) =
        components.schemas.get_mut("Problem")
    {
        let kind = utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(types))
            .description(Some(format!(
                "Stable: clients branch on it. One of: {}.",
                listing.join("; ")
            )))
            .build();
        problem.properties.insert("type".into(), kind.into());
    }
    components.responses.insert(
        PROBLEM_RESPONSE.into(),
        RefOr::T(
            ResponseBuilder::new()
                .description("Problem details (RFC 9457)")
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build(),
        ),
    );
    for item in api.paths.paths.values_mut() {
        let ops: [&mut Option<Operation>; 5] = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in ops.into_iter().flatten() {
            for range in ["4XX", "5XX"] {
                op.responses.responses.insert(
                    range.into(),
                    RefOr::Ref(Ref::from_response_name(PROBLEM_RESPONSE)),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::error::PROBLEMS;
    use crate::problem::TYPE_PREFIX;

    #[test]
    fn the_document_names_every_problem_type_and_every_operation_refers_to_it() {
        let doc = serde_json::to_value(crate::openapi()).unwrap();
        let named = doc["components"]["schemas"]["Problem"]["properties"]["type"]["enum"]
            .as_array()
            .unwrap();
        assert_eq!(named.len(), PROBLEMS.len());
        for (code, _, _) in PROBLEMS {
            assert!(
                named.contains(&serde_json::Value::String(format!("{TYPE_PREFIX}{code}"))),
                "{code} is not named"
            );
        }
        let shared = &doc["components"]["responses"]["Problem"];
        assert_eq!(
            shared["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                operations += 1;
                for range in ["4XX", "5XX"] {
                    assert_eq!(
                        op["responses"][range]["$ref"], "#/components/responses/Problem",
                        "{method} {path} {range}"
                    );
                }
            }
        }
        assert!(operations > 40, "{operations}");
    }
}
