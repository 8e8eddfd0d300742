//! The organisations in the console: the list with its filters, the form to register one (for
//! the authorities' admins), and an organisation's page with its Art. 5 contacts, declared
//! resources, the change forms and suspension. Permissions are the core's
//! (`warden_core::membership`); the pages offer what those allow.

use super::forms::{Choice, Fact, SignedIn, fact, form_session, form_status, refused};
use super::frame::{Lang, Layout, RowView, day, lang, page, user_view};
use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use warden_core::membership::{
    can_administer, can_edit_contacts, can_manage_people, can_register_organisations,
};
use warden_core::org::{Art5Contacts, Contact, OrgType, Organisation, Province};
use warden_service::ServiceError;
use warden_service::authentication::Session;
use warden_service::filters::OrganisationsFilter;
use warden_service::proto::{OrganisationPatch, OrganisationRequest, OrganisationView};

/// The 31 mainland provinces by name, for every form that asks for one.
pub(super) fn province_choices(lang: &str) -> Vec<Choice> {
    Province::all()
        .filter(|p| p.has_communications_administration())
        .map(|p| Choice {
            value: p.to_string(),
            label: if lang == "en" {
                p.name_en().to_owned()
            } else {
                p.name_zh().to_owned()
            },
        })
        .collect()
}

fn type_choices(m: &super::frame::Messages) -> Vec<Choice> {
    OrgType::ALL
        .iter()
        .map(|t| Choice {
            value: t.as_str().to_owned(),
            label: m.t(&format!("org_type_{}", t.as_str())).to_owned(),
        })
        .collect()
}

fn province_label(l: &Lang, p: Option<Province>) -> String {
    p.map(|p| {
        if l.lang == "en" {
            p.name_en().to_owned()
        } else {
            p.name_zh().to_owned()
        }
    })
    .unwrap_or_else(|| "—".into())
}

#[derive(Template)]
#[template(path = "organisations.html")]
struct OrganisationsPage {
    layout: Layout,
    q: ListForm,
    types: Vec<Choice>,
    provinces: Vec<Choice>,
    head: Vec<String>,
    rows: Vec<RowView>,
    next: Option<String>,
    can_register: bool,
    form: OrgForm,
    error: Option<String>,
}

layout_page!(OrganisationsPage);

#[derive(serde::Deserialize, Default, Clone)]
pub(super) struct ListForm {
    #[serde(default, rename = "type")]
    pub org_type: String,
    #[serde(default)]
    pub province: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub cursor: String,
}

/// The fields of the registration and change forms, as typed.
#[derive(serde::Deserialize, Default, Clone)]
pub(super) struct OrgForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pub slug: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "type")]
    pub org_type: String,
    #[serde(default)]
    pub province: String,
    #[serde(default)]
    pub supervising_unit: String,
    #[serde(default)]
    pub department: String,
    #[serde(default)]
    pub rp_name: String,
    #[serde(default)]
    pub rp_phone: String,
    #[serde(default)]
    pub rp_email: String,
    #[serde(default)]
    pub cp_name: String,
    #[serde(default)]
    pub cp_phone: String,
    #[serde(default)]
    pub cp_email: String,
    /// Which form of the organisation page: `contacts`, `identity` or `factor`.
    #[serde(default)]
    pub part: String,
    #[serde(default)]
    pub require_second_factor: String,
}

impl OrgForm {
    /// The contacts typed, or none when every field is empty.
    fn contacts(&self) -> Option<Art5Contacts> {
        let fields = [
            &self.department,
            &self.rp_name,
            &self.rp_phone,
            &self.rp_email,
            &self.cp_name,
            &self.cp_phone,
            &self.cp_email,
        ];
        if fields.iter().all(|f| f.trim().is_empty()) {
            return None;
        }
        let c = |n: &str, p: &str, e: &str| Contact {
            name: n.trim().to_owned(),
            phone: p.trim().to_owned(),
            email: e.trim().to_owned(),
        };
        Some(Art5Contacts {
            responsible_department: self.department.trim().to_owned(),
            responsible_person: c(&self.rp_name, &self.rp_phone, &self.rp_email),
            contact_person: c(&self.cp_name, &self.cp_phone, &self.cp_email),
        })
    }

    fn of(o: &OrganisationView) -> OrgForm {
        let c = o.contacts.clone();
        let (rp, cp) = c
            .as_ref()
            .map(|c| (c.responsible_person.clone(), c.contact_person.clone()))
            .unzip();
        OrgForm {
            slug: o.slug.clone(),
            name: o.name.clone(),
            org_type: o.org_type.as_str().to_owned(),
            province: o.province.map(|p| p.to_string()).unwrap_or_default(),
            supervising_unit: o.supervising_unit.clone().unwrap_or_default(),
            department: c.map(|c| c.responsible_department).unwrap_or_default(),
            rp_name: rp.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
            rp_phone: rp.as_ref().map(|p| p.phone.clone()).unwrap_or_default(),
            rp_email: rp.map(|p| p.email).unwrap_or_default(),
            cp_name: cp.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
            cp_phone: cp.as_ref().map(|p| p.phone.clone()).unwrap_or_default(),
            cp_email: cp.map(|p| p.email).unwrap_or_default(),
            ..OrgForm::default()
        }
    }
}

fn opt(v: &str) -> Option<String> {
    Some(v.trim().to_owned()).filter(|v| !v.is_empty())
}

pub(super) async fn list_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    SignedIn(sess): SignedIn,
    Query(q): Query<ListForm>,
) -> Result<Response, ApiError> {
    render_list(&s, &lang(&headers), &sess, q, OrgForm::default(), None).await
}

async fn render_list(
    s: &AppState,
    l: &Lang,
    sess: &Session,
    q: ListForm,
    form: OrgForm,
    error: Option<String>,
) -> Result<Response, ApiError> {
    let m = l.m;
    let query = warden_service::proto::OrganisationsQuery {
        org_type: opt(&q.org_type),
        province: opt(&q.province),
        status: opt(&q.status),
        limit: Some(100),
        cursor: opt(&q.cursor),
    };
    let listed = match OrganisationsFilter::try_from(query) {
        Ok(f) => s.svc.organisations(&sess.actor, f).await,
        Err(e) => Err(e),
    };
    let (rows, next, list_error) = match listed.map_err(ApiError::from) {
        Ok(list) => {
            let next = list.next.as_deref().map(|c| {
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs([
                        ("type", q.org_type.as_str()),
                        ("province", q.province.as_str()),
                        ("status", q.status.as_str()),
                        ("cursor", c),
                    ])
                    .finish()
            });
            let rows = list
                .items
                .into_iter()
                .map(|o| RowView {
                    href: Some(format!("/console/organisations/{}", o.slug)),
                    alert: o.status != "active" || o.art5_incomplete,
                    cells: vec![
                        o.slug,
                        o.name,
                        m.t(&format!("org_type_{}", o.org_type.as_str())).to_owned(),
                        province_label(l, o.province),
                        if o.status != "active" {
                            m.t("org_suspended").to_owned()
                        } else if o.art5_incomplete {
                            m.t("org_art5_missing").to_owned()
                        } else {
                            m.t("org_active").to_owned()
                        },
                    ],
                })
                .collect();
            (rows, next, None)
        }
        Err(e) => (vec![], None, refused(Err(e))?),
    };
    let error = error.or(list_error);
    let view = OrganisationsPage {
        layout: l.layout(Some(user_view(sess, m))),
        types: type_choices(m),
        provinces: province_choices(l.lang),
        head: [
            "col_slug",
            "col_name",
            "col_type",
            "col_province",
            "col_status",
        ]
        .iter()
        .map(|k| m.t(k).to_owned())
        .collect(),
        rows,
        next,
        can_register: can_register_organisations(&sess.actor),
        q,
        form,
        error: error.clone(),
    };
    Ok(page(form_status(&error), &view))
}

/// The registration form.
pub(super) async fn register(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<OrgForm>,
) -> Result<Response, ApiError> {
    let sess = match form_session(&s, &headers, &f.csrf).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let r = async {
        let org_type: OrgType = super::forms::enum_field("type", &f.org_type)?;
        let req = OrganisationRequest {
            slug: f.slug.trim().to_owned(),
            name: f.name.trim().to_owned(),
            org_type,
            province: opt(&f.province),
            contacts: f.contacts(),
            supervising_unit: opt(&f.supervising_unit),
        };
        s.svc
            .register_organisation(&sess.actor, req, None)
            .await
            .map(|_| ())
    }
    .await;
    match refused(r)? {
        None => Ok(Redirect::to(&format!(
            "/console/organisations/{}?done=1",
            url_slug(&f.slug)
        ))
        .into_response()),
        Some(why) => {
            render_list(
                &s,
                &lang(&headers),
                &sess,
                ListForm::default(),
                f,
                Some(why),
            )
            .await
        }
    }
}

/// A slug for a redirect: only the characters a slug may hold.
fn url_slug(s: &str) -> String {
    s.trim()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
        .collect()
}

#[derive(Template)]
#[template(path = "organisation.html")]
struct OrganisationPage {
    layout: Layout,
    slug: String,
    name: String,
    facts: Vec<Fact>,
    contacts: Vec<Fact>,
    contacts_hidden: bool,
    art5_incomplete: bool,
    resources: Vec<RowView>,
    resource_head: Vec<String>,
    suspended: bool,
    can_edit_contacts: bool,
    can_administer: bool,
    can_manage_people: bool,
    /// Its own admin decides whether its people need a second factor.
    can_set_factor: bool,
    require_second_factor: bool,
    provinces: Vec<Choice>,
    form: OrgForm,
    error: Option<String>,
    done: bool,
}

layout_page!(OrganisationPage);

pub(super) async fn org_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    SignedIn(sess): SignedIn,
    Path(slug): Path<String>,
    Query(q): Query<super::forms::Done>,
) -> Result<Response, ApiError> {
    render_org(&s, &lang(&headers), &sess, &slug, None, None, q.is_done()).await
}

async fn render_org(
    s: &AppState,
    l: &Lang,
    sess: &Session,
    slug: &str,
    form: Option<OrgForm>,
    error: Option<String>,
    done: bool,
) -> Result<Response, ApiError> {
    let m = l.m;
    let o = s.svc.organisation(&sess.actor, slug).await?;
    // What the core allows the person to change, judged on the organisation as stored.
    let stored = Organisation {
        id: o.id,
        slug: o.slug.clone(),
        name: o.name.clone(),
        org_type: o.org_type,
        jurisdiction: o.jurisdiction,
        province: o.province,
        contacts: o.contacts.clone(),
        supervising_unit: o.supervising_unit.clone(),
        suspended: o.suspended.clone(),
        require_second_factor: o.require_second_factor,
    };
    let mut facts = vec![
        fact(m, "col_slug", o.slug.clone()),
        fact(
            m,
            "col_type",
            m.t(&format!("org_type_{}", o.org_type.as_str())),
        ),
        fact(m, "col_province", province_label(l, o.province)),
        fact(
            m,
            "col_supervising_unit",
            o.supervising_unit.clone().unwrap_or_else(|| "—".into()),
        ),
    ];
    if let Some(j) = o.jurisdiction {
        facts.push(fact(m, "col_jurisdiction", j.to_string()));
    }
    match &o.suspended {
        Some(sus) => facts.push(fact(
            m,
            "col_status",
            format!(
                "{} · {} · {} ({})",
                m.t("org_suspended"),
                day(sus.since),
                sus.reason,
                sus.by
            ),
        )),
        None => facts.push(fact(m, "col_status", m.t("org_active"))),
    }
    let contacts = o
        .contacts
        .as_ref()
        .map(|c| {
            let person = |p: &Contact| {
                [p.name.as_str(), p.phone.as_str(), p.email.as_str()]
                    .iter()
                    .filter(|v| !v.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" · ")
            };
            vec![
                fact(m, "org_department", c.responsible_department.clone()),
                fact(m, "org_responsible", person(&c.responsible_person)),
                fact(m, "org_contact", person(&c.contact_person)),
            ]
        })
        .unwrap_or_default();
    let resources = o
        .resources
        .iter()
        .map(|r| RowView {
            href: None,
            alert: false,
            cells: vec![
                r.claim.value.clone(),
                super::forms::enum_str(&r.claim.kind),
                super::forms::enum_str(&r.claim.status),
                day(r.claim.declared_at),
            ],
        })
        .collect();
    let view = OrganisationPage {
        layout: l.layout(Some(user_view(sess, m))),
        contacts_hidden: o.contacts.is_none() && !o.art5_incomplete,
        art5_incomplete: o.art5_incomplete,
        suspended: o.suspended.is_some(),
        can_edit_contacts: can_edit_contacts(&sess.actor, &stored),
        can_administer: can_administer(&sess.actor, &stored),
        can_manage_people: can_manage_people(&sess.actor, &stored),
        can_set_factor: sess.actor.has_role(warden_core::org::Role::Admin)
            && sess.actor.org().is_some_and(|a| a.id == stored.id),
        require_second_factor: stored.require_second_factor,
        provinces: province_choices(l.lang),
        form: form.unwrap_or_else(|| OrgForm::of(&o)),
        resource_head: ["col_value", "col_kind", "col_status", "col_declared"]
            .iter()
            .map(|k| m.t(k).to_owned())
            .collect(),
        slug: o.slug,
        name: o.name,
        facts,
        contacts,
        resources,
        error: error.clone(),
        done,
    };
    Ok(page(form_status(&error), &view))
}

/// The change forms: `part=contacts` the Art. 5 contacts, `part=identity` the name, province
/// and supervising unit.
pub(super) async fn amend(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(f): Form<OrgForm>,
) -> Result<Response, ApiError> {
    let sess = match form_session(&s, &headers, &f.csrf).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let patch = match f.part.as_str() {
        "contacts" => Ok(OrganisationPatch {
            contacts: Some(f.contacts()),
            ..OrganisationPatch::default()
        }),
        "identity" => Ok(OrganisationPatch {
            name: Some(f.name.clone()),
            province: Some(opt(&f.province)),
            supervising_unit: Some(opt(&f.supervising_unit)),
            ..OrganisationPatch::default()
        }),
        "factor" => Ok(OrganisationPatch {
            require_second_factor: Some(f.require_second_factor == "1"),
            ..OrganisationPatch::default()
        }),
        other => Err(ServiceError::InvalidBody(format!(
            "part: {other:?} is not contacts, identity or factor"
        ))),
    };
    let r = match patch {
        Ok(p) => s
            .svc
            .amend_organisation(&sess.actor, &slug, p, None)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match refused(r)? {
        None => Ok(Redirect::to(&format!(
            "/console/organisations/{}?done=1",
            url_slug(&slug)
        ))
        .into_response()),
        Some(why) => render_org(&s, &lang(&headers), &sess, &slug, Some(f), Some(why), false).await,
    }
}

#[derive(serde::Deserialize)]
pub(super) struct SuspensionForm {
    #[serde(default)]
    csrf: String,
    /// `suspend` or `reactivate`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
}

pub(super) async fn suspension(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(f): Form<SuspensionForm>,
) -> Result<Response, ApiError> {
    let sess = match form_session(&s, &headers, &f.csrf).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let reason = (f.action != "reactivate").then(|| f.reason.clone());
    let r = s
        .svc
        .set_suspension(&sess.actor, &slug, reason, None)
        .await
        .map(|_| ());
    match refused(r)? {
        None => Ok(Redirect::to(&format!(
            "/console/organisations/{}?done=1",
            url_slug(&slug)
        ))
        .into_response()),
        Some(why) => render_org(&s, &lang(&headers), &sess, &slug, None, Some(why), false).await,
    }
}
