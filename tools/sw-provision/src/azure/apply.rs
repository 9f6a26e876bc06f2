//! Create or converge one Flexible Server: read everything first (the
//! server, the location's capabilities, its rules, parameters and
//! database), plan the writes that differ, then send them one at a time
//! under a per-server lock (the service requires serialised writes per
//! server). A dry run prints the plan's requests instead.
//!
//! The administrator password lives in the env file. A new one is saved
//! there, marked unconfirmed, before it is sent, so an interrupted or
//! failed run never leaves the server with a password no file knows; the
//! next run sends an unconfirmed rotation again.

use std::path::PathBuf;

use serde_json::{Value, json};
use sw_core::azure::ArmClient;
use sw_core::config::Env;
use sw_core::envfile::EnvFile;
use sw_core::output::Output;
use sw_core::{Error, Result};

use super::args::{ApplyArgs, Ha, OnOff, parse_db_name};
use super::body::{self, Want};
use super::connect::{self, Login, PENDING_KEY};
use super::plan::{self, Step};
use super::record::{Action, AzureResult, Change, Method, Request, ServerSummary};
use super::server::{ServerState, reattach, same, text};
use super::target::{Target, region};
use super::{caps, cost};

/// A converge run: what was read, and what it plans and did.
struct Apply<'a> {
    t: &'a Target,
    a: &'a ApplyArgs,
    c: ArmClient,
    env_file: PathBuf,
    env: EnvFile,
    /// An earlier run saved a password and stopped before Azure confirmed
    /// it: `create` or `update`.
    pending: Option<String>,
    database: String,
    /// The administrator password the env file will hold.
    password: Option<String>,
    steps: Vec<Step>,
    warnings: Vec<String>,
    changes: Vec<Change>,
}

/// Run `sw-provision azure`.
pub fn run(t: &Target, a: &ApplyArgs, pretty: bool) -> Result<()> {
    let c = t.client()?;
    let env_file = a
        .env_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.env", t.name)));
    let env = EnvFile::read_or_default(&env_file)?;
    let server = c.get_opt(&t.path(""))?;
    // The administrator is the server's own (set at create time), else
    // --admin-user; the database the env file's unless named.
    let admin = server
        .as_ref()
        .map(|s| text(s, "/properties/administratorLogin"))
        .filter(|u| !u.is_empty())
        .unwrap_or(&a.admin_user)
        .to_owned();
    let mut run = Apply {
        t,
        a,
        pending: env.get(PENDING_KEY).map(str::to_owned),
        password: crate::local::password_in(&env, &admin),
        database: database_of(a, &env),
        c,
        env_file,
        env,
        steps: Vec::new(),
        warnings: Vec::new(),
        changes: Vec::new(),
    };
    let location = run.location(server.as_ref())?;
    let w = Want::resolve(a, server.as_ref());
    let vcores = run.check_capabilities(&w, server.as_ref(), &location)?;
    let server = match server {
        None => {
            run.plan_create(&w, &location)?;
            None
        }
        Some(s) => Some(run.plan_update(&w, s)?),
    };
    let exists = server.is_some();
    plan::firewall(a, &run.c, t, exists, &mut run.steps, &mut run.warnings)?;
    let mut restart_pending = plan::params(a, &run.c, t, exists, &mut run.steps)?;
    plan::database(&run.c, t, exists, &run.database, &mut run.steps)?;
    if restart_pending && a.restart {
        run.steps.push(plan::restart(t));
        restart_pending = false;
    }
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
    if !a.dry_run && run.write_env(server.as_ref().unwrap_or(&Value::Null), None)? {
        let detail = run.env_file.display().to_string();
        run.changes.push(Change::new(Action::WriteEnvFile, detail));
    }
    for w in &run.warnings {
        log::warn!("{w}");
    }
    let rec = run.result(&w, vcores, restart_pending, server.as_ref());
    out.emit(&rec)
}

/// The database: --database, else the env file's, else `app`.
fn database_of(a: &ApplyArgs, env: &EnvFile) -> String {
    match &a.database {
        Some(d) => d.clone(),
        None => env
            .get("DATABASE_URL")
            .and_then(|u| sw_core::conninfo::parse(u).ok())
            .and_then(|p| p.get("dbname").cloned())
            .filter(|d| parse_db_name(d).is_ok())
            .unwrap_or_else(|| "app".into()),
    }
}

impl Apply<'_> {
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
    fn check_capabilities(&self, w: &Want, server: Option<&Value>, location: &str) -> Result<u32> {
        let caps_body = self.c.get(&self.t.capabilities_path(location))?;
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
        let vcores = caps::check(location, &caps_body, &wanted)?;
        Ok(if vcores == 0 {
            cost::vcores_from_sku(&w.sku)
        } else {
            vcores
        })
    }

    /// A new administrator password (a placeholder in a dry run).
    fn new_password(&self) -> Result<String> {
        if self.a.dry_run {
            Ok("<generated>".into())
        } else {
            sw_core::secret::generate_password()
        }
    }

    /// Plan the create, with the env file's password unless rotating or unknown.
    fn plan_create(&mut self, w: &Want, location: &str) -> Result<()> {
        let pw = match (&self.password, self.a.rotate_password) {
            (Some(p), false) => p.clone(),
            _ => self.new_password()?,
        };
        self.password = Some(pw.clone());
        let (t, a) = (self.t, self.a);
        self.steps.push(Step {
            method: Method::Put,
            path: t.path(""),
            body: Some(body::create(a, w, location, &pw)),
            action: Action::CreateServer,
            detail: format!(
                "{} {} {} in {location}, PostgreSQL {}",
                t.name,
                w.tier.arm(),
                w.sku,
                w.pg_version
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
        let rotate = if self.a.rotate_password || self.password.is_none() {
            let pw = self.new_password()?;
            self.password = Some(pw.clone());
            Some(pw)
        } else if self.pending.is_some() && !finished_create {
            // Not known to have reached the server: send it (again).
            self.password.clone()
        } else {
            None
        };
        let patch = body::update(self.a, w, &server, rotate.as_deref(), &mut self.warnings)?;
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
            self.write_env(server.unwrap_or(&Value::Null), Some(kind))?;
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

    /// Write the connection strings (and the pending mark) when they
    /// differ; whether the env file was written.
    fn write_env(&mut self, server: &Value, pending: Option<&str>) -> Result<bool> {
        let Some(pw) = &self.password else { return Ok(false) };
        let login = Login {
            name: &self.t.name,
            admin: &self.a.admin_user,
            database: &self.database,
            password: pw,
        };
        let vars = connect::vars(&login, server, &self.env);
        connect::save(&self.env_file, &mut self.env, &vars, pending)
    }

    fn result(self, w: &Want, vcores: u32, restart_pending: bool, server: Option<&Value>) -> AzureResult {
        let cost_estimate = cost::estimate(
            w.tier.arm(),
            vcores,
            w.storage_gb,
            w.ha != Ha::Disabled,
            w.geo_redundant_backup == OnOff::Enabled,
        );
        AzureResult {
            dry_run: self.a.dry_run,
            changed: !self.changes.is_empty(),
            id: self.t.server_id(),
            changes: self.changes,
            warnings: self.warnings,
            restart_pending,
            env_file: self.env_file,
            cost_estimate,
            server: ServerSummary::of_opt(server),
        }
    }
}
