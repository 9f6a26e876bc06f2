//! Create or converge one Flexible Server: read everything first (the
//! server, the location's capabilities, the subnet and DNS zone of a
//! private create, the key's identities, its rules, parameters, database
//! and Entra administrator), check and plan the writes that differ, then
//! send them one at a time under a per-server lock (the service requires
//! serialised writes per server). Then the application role over SQL. A
//! dry run prints the plan's requests instead.
//!
//! The administrator password lives in its own env file. A new one is
//! saved there, marked unconfirmed, before it is sent, so an interrupted
//! or failed run never leaves the server with a password no file knows;
//! the next run sends an unconfirmed rotation again.

use serde_json::{Value, json};
use sw_core::azure::ArmClient;
use sw_core::config::Env;
use sw_core::output::Output;
use sw_core::{Error, Result};

use super::args::{ApplyArgs, Ha, OnOff};
use super::body::{self, Security, Want};
use super::connect::{self, Files, Login};
use super::entra::AuthMode;
use super::plan::{self, Step};
use super::record::{Action, AzureResult, Change, Method, Request, ServerSummary};
use super::server::{ServerState, reattach, same, text};
use super::target::{Target, region};
use super::{caps, cost, disruptive, network, roles};
use crate::approle::{self, App};

/// A converge run: what was read, and what it plans and did.
struct Apply<'a> {
    t: &'a Target,
    a: &'a ApplyArgs,
    c: ArmClient,
    files: Files,
    /// An earlier run saved a password and stopped before Azure confirmed
    /// it: `create` or `update`.
    pending: Option<String>,
    database: String,
    /// The administrator: the server's own (set at create), else --admin-user.
    admin: String,
    /// The administrator password the admin env file will hold.
    password: Option<String>,
    /// How clients sign in once this run is done.
    mode: AuthMode,
    /// The location's capabilities.
    caps: Value,
    steps: Vec<Step>,
    warnings: Vec<String>,
    changes: Vec<Change>,
}

/// Run `sw-provision azure`.
pub fn run(t: &Target, a: &ApplyArgs, pretty: bool) -> Result<()> {
    a.network.check_flags(a)?;
    let c = t.client()?;
    let server = c.get_opt(&t.path(""))?;
    let mut run = Apply::new(t, a, c, server.as_ref())?;
    let location = run.location(server.as_ref())?;
    let w = Want::resolve(a, server.as_ref());
    let vcores = run.check_capabilities(&w, server.as_ref(), &location)?;
    run.preflight(&w, server.as_ref())?;
    let server = match server {
        None => {
            run.plan_create(&w, &location)?;
            None
        }
        Some(s) => Some(run.plan_update(&w, s)?),
    };
    let mut restart_pending = run.plan_rest(&w, server.as_ref())?;
    let mut out = Output::stdout(pretty);
    let server = if a.dry_run {
        run.print_requests(&mut out)?;
        server
    } else if run.steps.is_empty() {
        server
    } else {
        Some(run.send(server.as_ref(), &mut restart_pending)?)
    };
    if restart_pending {
        run.warnings
            .push("a changed parameter takes effect only after a restart; run again with --restart".into());
    }
    let srv = server.as_ref().unwrap_or(&Value::Null);
    if !a.dry_run && run.save_admin(srv, None)? {
        let detail = run.files.admin_env_file.display().to_string();
        run.changes.push(Change::new(Action::WriteAdminEnvFile, detail));
    }
    run.app_role(srv)?;
    for w in &run.warnings {
        log::warn!("{w}");
    }
    let rec = run.result(&w, vcores, restart_pending, server.as_ref());
    out.emit(&rec)
}

impl<'a> Apply<'a> {
    /// Read the env files and check the flags against the server.
    ///
    /// # Errors
    /// 64 for flags that cannot work together; 78 for a malformed env file.
    fn new(t: &'a Target, a: &'a ApplyArgs, c: ArmClient, server: Option<&Value>) -> Result<Apply<'a>> {
        a.entra.check(server)?;
        let mode = a.entra.mode(server);
        if !mode.passwords() && (a.rotate_password || a.roles.rotate_admin_password) {
            return Err(Error::usage(
                "with --auth-mode entra nobody signs in with a password: --rotate-password and --rotate-admin-password do not apply",
            ));
        }
        let admin = server
            .map(|s| text(s, "/properties/administratorLogin"))
            .filter(|u| !u.is_empty())
            .unwrap_or(&a.admin_user)
            .to_owned();
        let files = Files::resolve(t, a, &admin)?;
        let database = a
            .database
            .clone()
            .or_else(|| files.database().filter(|d| super::args::parse_db_name(d).is_ok()))
            .unwrap_or_else(|| "app".into());
        if a.roles.app_role.as_deref().unwrap_or(&database) == admin {
            return Err(Error::usage(format!(
                "the application role may not be the administrator {admin:?}: name another with --app-role"
            )));
        }
        Ok(Apply {
            t,
            a,
            c,
            pending: files.pending(),
            password: files.admin_password(&admin),
            files,
            database,
            admin,
            mode,
            caps: Value::Null,
            steps: Vec::new(),
            warnings: Vec::new(),
            changes: Vec::new(),
        })
    }

    /// The server's region (an existing server keeps its own).
    ///
    /// # Errors
    /// 64 for a server to create without --location.
    fn location(&mut self, server: Option<&Value>) -> Result<String> {
        let location = match (server, &self.a.location) {
            (Some(s), _) => region(text(s, "/location")),
            (None, Some(l)) => l.clone(),
            (None, None) => {
                return Err(Error::usage(format!(
                    "server {} does not exist; pass --location to create it",
                    self.t.name
                )));
            }
        };
        if self
            .a
            .location
            .as_deref()
            .is_some_and(|l| !same(l, &location) && !same(&l.replace(' ', ""), &location.replace(' ', "")))
        {
            self.warnings
                .push(format!("the server is in {location}; a server cannot move regions"));
        }
        Ok(location)
    }

    /// Check the shape against what the location offers; the SKU's vCores.
    ///
    /// # Errors
    /// 65 naming what the location does not offer.
    fn check_capabilities(&mut self, w: &Want, server: Option<&Value>, location: &str) -> Result<u32> {
        self.caps = self.c.get(&self.t.capabilities_path(location))?;
        let wanted = caps::Wanted {
            tier: w.tier.arm(),
            sku: &w.sku,
            version: server.map_or(w.pg_version.as_str(), |s| text(s, "/properties/version")),
            storage_gb: w.storage_gb,
            ha_mode: w.ha.arm(),
            zone: if server.is_none() { self.a.zone.as_deref() } else { None },
            standby_zone: self.a.standby_zone.as_deref(),
            geo_backup: server.is_none() && w.geo_redundant_backup == OnOff::Enabled,
            auto_grow: w.auto_grow == OnOff::Enabled,
        };
        let vcores = caps::check(location, &self.caps, &wanted)?;
        Ok(if vcores == 0 {
            cost::vcores_from_sku(&w.sku)
        } else {
            vcores
        })
    }

    /// What must hold before anything is written: the subnet and DNS zone
    /// of a private create, the key's identities, and what an existing
    /// server cannot change.
    ///
    /// # Errors
    /// 64 for flags the server cannot take; 65 naming a resource that is
    /// missing or wrong.
    fn preflight(&self, w: &Want, server: Option<&Value>) -> Result<()> {
        let a = self.a;
        match server {
            None => {
                a.cmk.check_create(w.geo_redundant_backup == OnOff::Enabled)?;
                a.network.preflight(&self.c)?;
            }
            Some(s) => a.network.check_server(a, s)?,
        }
        a.cmk.preflight(&self.c)
    }

    /// A new administrator password (a placeholder in a dry run).
    fn new_password(&self) -> Result<String> {
        if self.a.dry_run {
            Ok("<generated>".into())
        } else {
            sw_core::secret::generate_password()
        }
    }

    /// Plan the create, with the admin env file's password unless rotating
    /// or unknown (no password administrator with Entra-only sign-in).
    fn plan_create(&mut self, w: &Want, location: &str) -> Result<()> {
        let pw = match (&self.password, self.a.roles.rotate_admin_password) {
            _ if !self.mode.passwords() => None,
            (Some(p), false) => Some(p.clone()),
            _ => Some(self.new_password()?),
        };
        self.password.clone_from(&pw);
        let (t, a) = (self.t, self.a);
        let body = body::create(a, w, location, pw.as_deref(), a.entra.create()?);
        self.steps.push(Step {
            method: Method::Put,
            path: t.path(""),
            body: Some(body),
            action: Action::CreateServer,
            detail: format!(
                "{} {} {} in {location}, PostgreSQL {}{}",
                t.name,
                w.tier.arm(),
                w.sku,
                w.pg_version,
                if a.network.private() { ", private access" } else { "" }
            ),
        });
        Ok(())
    }

    /// Plan the PATCH of an existing server (re-attached first when an
    /// earlier run left it busy); the server as it then is.
    fn plan_update(&mut self, w: &Want, server: Value) -> Result<Value> {
        let server = if ServerState::of(&server).is_busy() {
            self.changes.push(Change::new(
                Action::Reattach,
                "an earlier operation on the server was still running",
            ));
            if self.a.dry_run {
                server
            } else {
                reattach(&self.c, self.t, server)?
            }
        } else {
            server
        };
        // The server exists, so the create that carried the saved password went through.
        let finished_create = self.pending.as_deref() == Some("create");
        let passwords = self.mode.passwords() && !text(&server, "/properties/administratorLogin").is_empty();
        let rotate = if passwords && (self.a.roles.rotate_admin_password || self.password.is_none()) {
            let pw = self.new_password()?;
            self.password = Some(pw.clone());
            Some(pw)
        } else if passwords && self.pending.is_some() && !finished_create {
            // Not known to have reached the server: send it (again).
            self.password.clone()
        } else {
            None
        };
        let security = Security {
            auth_config: self.a.entra.update(&server)?,
            encryption: self.a.cmk.update(&server)?,
        };
        let patch = body::update(self.a, w, &server, rotate.as_deref(), security)?;
        if !patch.is_empty() {
            self.steps.push(Step {
                method: Method::Patch,
                path: self.t.path(""),
                detail: body::describe_patch(&patch),
                body: Some(Value::Object(patch)),
                action: Action::UpdateServer,
            });
        }
        Ok(server)
    }

    /// Plan what follows the server itself; whether a changed parameter
    /// waits for a restart.
    fn plan_rest(&mut self, w: &Want, server: Option<&Value>) -> Result<bool> {
        let (a, t) = (self.a, self.t);
        if let Some(s) = server {
            let mut cx = disruptive::Ctx {
                a,
                t,
                c: &self.c,
                caps: &self.caps,
                steps: &mut self.steps,
                warnings: &mut self.warnings,
            };
            disruptive::plan(&mut cx, w, s)?;
        }
        let exists = server.is_some();
        let private = a.network.private() || server.is_some_and(network::is_private);
        if !private {
            plan::firewall(a, &self.c, t, exists, &mut self.steps, &mut self.warnings)?;
        }
        let mut restart_pending = plan::params(a, &self.c, t, exists, &mut self.steps)?;
        if !self.makes_app_role() {
            // Without an application role the database comes from ARM
            // (owned by the administrator); with one, from SQL, owned by it.
            plan::database(&self.c, t, exists, &self.database, &mut self.steps)?;
        }
        self.plan_entra_admin(exists)?;
        if restart_pending && a.restart {
            self.steps.push(plan::restart(t));
            restart_pending = false;
        }
        Ok(restart_pending)
    }

    /// The Entra administrator, when it is not yet as asked.
    fn plan_entra_admin(&mut self, exists: bool) -> Result<()> {
        let Some(oid) = &self.a.entra.entra_admin else {
            return Ok(());
        };
        let path = self.t.path(&format!("/administrators/{oid}"));
        let current = if exists { self.c.get_opt(&path)? } else { None };
        if let Some((_, body)) = self.a.entra.admin(current.as_ref())? {
            let name = self.a.entra.entra_admin_name.clone().unwrap_or_default();
            self.steps.push(Step {
                method: Method::Put,
                path,
                body: Some(body),
                action: Action::SetEntraAdmin,
                detail: format!("{name} ({oid})"),
            });
        }
        Ok(())
    }

    /// Whether this run makes the application role over SQL.
    fn makes_app_role(&self) -> bool {
        !self.a.roles.no_app_role && self.mode.passwords()
    }

    /// The application role's name.
    fn app_role_name(&self) -> String {
        self.a.roles.app_role.clone().unwrap_or_else(|| self.database.clone())
    }

    /// A dry run: print each planned request (password redacted).
    fn print_requests(&mut self, out: &mut Output) -> Result<()> {
        for s in &self.steps {
            out.emit(&Request {
                method: s.method,
                url: self.c.url(&s.path),
                body: s.body.as_ref().map(body::redacted),
            })?;
            self.changes.push(s.change());
        }
        Ok(())
    }

    /// Send the planned writes; the server as it is afterwards.
    /// `restart_pending` learns of static parameters a new server reports.
    fn send(&mut self, server: Option<&Value>, restart_pending: &mut bool) -> Result<Value> {
        let _lock = self.c.write_lock(&self.t.server_id(), &Env::process())?;
        // A password about to be sent is saved first (marked unconfirmed), so
        // an interrupted or failed run never leaves one that no file knows.
        let sends_pw = self.steps.iter().find_map(|s| {
            let sends = s.body.as_ref().is_some_and(body::sends_password);
            sends.then_some(if s.method == Method::Put { "create" } else { "update" })
        });
        if let Some(kind) = sends_pw {
            self.save_admin(server.unwrap_or(&Value::Null), Some(kind))?;
        }
        for s in &self.steps {
            let res = self.c.mutate(s.method.as_str(), &s.path, s.body.as_ref())?;
            self.changes.push(s.change());
            if s.action == Action::SetParameter
                && res.pointer("/properties/isDynamicConfig") == Some(&json!(false))
                && server.is_none()
            {
                *restart_pending = true;
            }
        }
        if *restart_pending && self.a.restart {
            let s = plan::restart(self.t);
            self.c.mutate(s.method.as_str(), &s.path, None)?;
            self.changes.push(s.change());
            *restart_pending = false;
        }
        self.c.get(&self.t.path(""))
    }

    /// Write the administrator's connection strings (and the pending
    /// mark) when they differ; whether its env file was written.
    fn save_admin(&mut self, server: &Value, pending: Option<&str>) -> Result<bool> {
        let Some(pw) = &self.password else { return Ok(false) };
        let host = connect::host(server, &self.t.name);
        let login = Login {
            host: &host,
            user: &self.admin,
            database: &self.database,
            password: pw,
            pooled: self.a.pooled(),
        };
        self.files.save_admin(&login, pending)
    }

    /// The application role, its database and env file, over SQL as the
    /// administrator (planned only, in a dry run).
    fn app_role(&mut self, server: &Value) -> Result<()> {
        if self.a.roles.no_app_role {
            return Ok(());
        }
        let role = self.app_role_name();
        if !self.mode.passwords() {
            self.warnings.push(format!(
                "password sign-in is off, so no password role is made: as the Entra administrator, map the application's identity (SELECT * FROM pgaadauth_create_principal('{role}', false, false)) and connect with --azure-auth"
            ));
            return Ok(());
        }
        if self.a.dry_run {
            self.changes.push(Change::new(
                Action::CheckRoleAndDatabase,
                format!(
                    "{role}/{} and {} (checked over SQL as the administrator when applied)",
                    self.database,
                    self.files.env_file.display()
                ),
            ));
            return Ok(());
        }
        let pw = self
            .password
            .clone()
            .ok_or_else(|| Error::software("no administrator password for the role step"))?;
        let host = connect::host(server, &self.t.name);
        let app = App {
            role: &role,
            database: &self.database,
            env_file: &self.files.env_file,
            rotate: self.a.rotate_password,
            dry: false,
        };
        let db = self.database.clone();
        let pooled = self.a.pooled();
        let vars = |p: &str| {
            connect::vars(&Login {
                host: &host,
                user: &role,
                database: &db,
                password: p,
                pooled,
            })
        };
        let s = roles::Server {
            host: &host,
            admin: &self.admin,
            admin_password: &pw,
        };
        let mut notes = Vec::new();
        let r = roles::ensure(&self.a.roles, &s, &app, &vars, &mut |step, d| notes.push((step, d)));
        self.changes
            .extend(notes.into_iter().map(|(step, d)| Change::new(action(step), d)));
        r
    }

    fn result(self, w: &Want, vcores: u32, restart_pending: bool, server: Option<&Value>) -> AzureResult {
        let cost_estimate = cost::estimate(
            w.tier.arm(),
            vcores,
            w.storage_gb,
            w.ha != Ha::Disabled,
            w.geo_redundant_backup == OnOff::Enabled,
        );
        let app_role = self.makes_app_role().then(|| self.app_role_name());
        AzureResult {
            dry_run: self.a.dry_run,
            changed: !self.changes.is_empty(),
            id: self.t.server_id(),
            changes: self.changes,
            warnings: self.warnings,
            restart_pending,
            env_file: self.files.env_file,
            admin_env_file: self.password.is_some().then_some(self.files.admin_env_file),
            app_role,
            cost_estimate,
            server: ServerSummary::of_opt(server),
        }
    }
}

/// The record's action for a role step.
fn action(s: approle::Step) -> Action {
    use approle::Step;
    match s {
        Step::CreateRole => Action::CreateRole,
        Step::RotatePassword => Action::RotatePassword,
        Step::SetPassword => Action::SetPassword,
        Step::WriteEnvFile => Action::WriteEnvFile,
        Step::ChmodEnvFile => Action::ChmodEnvFile,
        Step::CreateDatabase => Action::CreateDatabase,
        Step::AdoptDatabase => Action::AdoptDatabase,
    }
}
