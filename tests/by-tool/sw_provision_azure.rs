//! sw-provision azure, production-hardened (issue #19), against the test
//! kit's fake Resource Manager serving the official examples: private
//! network access, customer-managed keys, Entra ID sign-in, the application
//! role over SQL (a local TLS cluster standing in for the server through
//! `--connect-to`), the disruptive changes, and workload identity tokens
//! over HTTPS.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sw_testkit::azure::{FakeArm, example_request, leaf_paths};
use sw_testkit::cmd::{self, Run};

const BIN: &str = env!("CARGO_BIN_EXE_sw-provision");
const RG: &str = "/subscriptions/ffffffff-ffff-ffff-ffff-ffffffffffff/resourceGroups/exampleresourcegroup/providers";
const FQDN: &str = "exampleserver.postgres.database.azure.com";

fn azure(fake: &FakeArm, args: &[&str]) -> Run {
    azure_env(fake, args, &[])
}

fn azure_env(fake: &FakeArm, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = cmd::command(BIN.as_ref());
    for k in [
        "AZURE_FEDERATED_TOKEN_FILE",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "AZURE_AUTHORITY_HOST",
        "SSL_CERT_FILE",
    ] {
        c.env_remove(k);
    }
    c.envs(fake.env()).envs(env.iter().copied()).arg("azure").args(args);
    cmd::run_cmd(&mut c, None)
}

fn server_path(name: &str) -> String {
    format!("{RG}/Microsoft.DBforPostgreSQL/flexibleServers/{name}").to_ascii_lowercase()
}

/// Requests with this method to exactly this (normalised) path.
fn exact(fake: &FakeArm, method: &str, path: &str) -> Vec<sw_testkit::azure::Request> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == method && r.path() == path)
        .collect()
}

fn writes(fake: &FakeArm) -> usize {
    ["PUT", "PATCH", "DELETE", "POST"]
        .iter()
        .map(|m| fake.count(m, "/subscriptions/"))
        .sum()
}

fn actions(rec: &Value) -> Vec<&str> {
    rec["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn env_var(file: &Path, key: &str) -> Option<String> {
    let env = sw_core::envfile::EnvFile::parse(&std::fs::read_to_string(file).unwrap()).unwrap();
    env.get(key).map(str::to_owned)
}

fn url_part(file: &Path, part: &str) -> String {
    let url = env_var(file, "DATABASE_URL").unwrap();
    sw_core::conninfo::parse(&url).unwrap()[part].clone()
}

/// The example server's flags (zone 1, 512 GB, General Purpose D4ds_v5),
/// then `extra`; no firewall rule and no application role unless asked.
fn args<'a>(env_file: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "--resource-group",
        "exampleresourcegroup",
        "--name",
        "exampleserver",
        "--location",
        "eastus",
        "--sku",
        "Standard_D4ds_v5",
        "--tier",
        "general-purpose",
        "--zone",
        "1",
        "--storage-gb",
        "512",
        "--auto-grow",
        "disabled",
        "--storage-tier",
        "P20",
        "--backup-retention-days",
        "7",
        "--admin-user",
        "exampleadministratorlogin",
        "--database",
        "exampledatabase",
        "--poll-interval",
        "10ms",
        "--env-file",
        env_file,
    ];
    v.extend_from_slice(extra);
    v
}

// ------------------------------------------------------ private network

const SUBNET: &str = "/subscriptions/ffffffff-ffff-ffff-ffff-ffffffffffff/resourceGroups/exampleresourcegroup/providers/Microsoft.Network/virtualNetworks/examplevirtualnetwork/subnets/examplesubnet";
const ZONE: &str = "/subscriptions/ffffffff-ffff-ffff-ffff-ffffffffffff/resourceGroups/exampleresourcegroup/providers/Microsoft.Network/privateDnsZones/orders.private.postgres.database.azure.com";
/// The example's own zone name, which the service refuses (it does not
/// end in .postgres.database.azure.com).
const EXAMPLE_ZONE: &str = "/subscriptions/ffffffff-ffff-ffff-ffff-ffffffffffff/resourceGroups/exampleresourcegroup/providers/Microsoft.Network/privateDnsZones/exampleprivatednszone.private.postgres.database";

/// A subnet and a zone in the shapes Microsoft.Network answers with.
fn network_resources(fake: &FakeArm, delegated_to: &[&str]) {
    let delegations: Vec<Value> = delegated_to
        .iter()
        .map(|s| json!({"name": "fs", "properties": {"serviceName": s, "actions": ["Microsoft.Network/virtualNetworks/subnets/join/action"]}}))
        .collect();
    fake.with(|s| {
        s.resources.insert(
            SUBNET.to_ascii_lowercase(),
            json!({"id": SUBNET, "name": "examplesubnet", "properties": {"addressPrefix": "10.0.0.0/24", "delegations": delegations, "provisioningState": "Succeeded"}}),
        );
        for z in [ZONE, EXAMPLE_ZONE] {
            let name = z.rsplit('/').next().unwrap();
            s.resources.insert(
                z.to_ascii_lowercase(),
                json!({"id": z, "name": name, "location": "global", "type": "Microsoft.Network/privateDnsZones", "properties": {"provisioningState": "Succeeded"}}),
            );
        }
    });
}

#[test]
fn private_network_creates_send_the_example_network_and_bad_resources_are_refused_first() {
    let fake = FakeArm::start();
    let tmp = tempfile::tempdir().unwrap();
    let ef = tmp.path().join("db.env");
    let ef = ef.to_str().unwrap();
    let private = [
        "--network",
        "private",
        "--subnet",
        SUBNET,
        "--private-dns-zone",
        ZONE,
        "--ha",
        "same-zone",
    ];
    let with = |extra: &[&'static str]| {
        let mut v: Vec<&str> = private.to_vec();
        v.extend_from_slice(extra);
        v
    };

    // Refused before the server PUT: an undelegated subnet, a zone whose
    // name the service refuses, resources that do not exist, firewall flags.
    network_resources(&fake, &["Microsoft.Sql/managedInstances"]);
    let r = azure(&fake, &args(ef, &[&with(&[])[..], &["--no-app-role"]].concat()));
    r.expect_error(
        65,
        &format!("the subnet {SUBNET} is not delegated to Microsoft.DBforPostgreSQL/flexibleServers"),
    );
    assert!(r.stderr.contains("Microsoft.Sql/managedInstances"), "{r:?}");
    network_resources(&fake, &["Microsoft.DBforPostgreSQL/flexibleServers"]);
    let mut bad_zone = args(ef, &private[..4]);
    bad_zone.extend(["--private-dns-zone", EXAMPLE_ZONE, "--no-app-role"]);
    azure(&fake, &bad_zone).expect_error(
        65,
        "the private DNS zone \"exampleprivatednszone.private.postgres.database\" cannot hold a Flexible Server: its name must end in .postgres.database.azure.com",
    );
    let missing = ZONE.replace("orders.", "nowhere.");
    let mut gone = args(ef, &private[..4]);
    gone.extend(["--private-dns-zone", missing.as_str(), "--no-app-role"]);
    azure(&fake, &gone).expect_error(65, &format!("the private DNS zone {missing} does not exist"));
    azure(&fake, &args(ef, &with(&["--allow-ip", "203.0.113.0/24"])))
        .expect_error(64, "--allow-ip and --allow-azure-services");
    azure(&fake, &args(ef, &["--network", "private", "--subnet", SUBNET])).expect_error(64, "--network private needs");
    assert_eq!(writes(&fake), 0, "something was written before the checks");

    // The create: the example's property paths, network included; no firewall rule.
    let r = azure(
        &fake,
        &args(
            ef,
            &with(&[
                "--no-app-role",
                "--tag",
                "InCustomerVnet=true",
                "--tag",
                "InMicrosoftVnet=false",
            ]),
        ),
    );
    let rec = r.expect_code(0).one("provision.azure");
    let put = exact(&fake, "PUT", &server_path("exampleserver")).pop().unwrap().body;
    let example = example_request("ServersCreateInYourOwnVirtualNetworkWithSameZoneHighAvailability.json");
    assert_eq!(leaf_paths(&put), leaf_paths(&example));
    assert_eq!(
        put["properties"]["network"],
        json!({"delegatedSubnetResourceId": SUBNET, "privateDnsZoneArmResourceId": ZONE})
    );
    assert_eq!(fake.count("PUT", "/firewallRules/"), 0);
    assert!(!rec["warnings"].to_string().contains("firewall"), "{rec}");
    assert_eq!(rec["subnet"], SUBNET);
    assert_eq!(rec["private_dns_zone"], ZONE);
    // The admin env file's host: the server's name, which the zone
    // resolves to its private address inside the VNet.
    let admin = tmp.path().join("db.admin.env");
    assert_eq!(url_part(&admin, "host"), FQDN);

    // Afterwards: firewall flags refused for the private server, and the
    // network cannot change.
    let before = writes(&fake);
    azure(&fake, &args(ef, &["--allow-ip", "203.0.113.0/24", "--no-app-role"]))
        .expect_error(64, "--allow-ip and --allow-azure-services");
    azure(&fake, &args(ef, &["--network", "public", "--no-app-role"]))
        .expect_error(65, "the server has private access and --network asks for public");
    assert_eq!(
        azure(&fake, &args(ef, &with(&["--no-app-role"])))
            .expect_code(0)
            .one("provision.azure")["changed"],
        false
    );
    assert_eq!(writes(&fake), before);
}

// ------------------------------------------------ customer-managed keys

const ID1: &str = "/subscriptions/ffffffff-ffff-ffff-ffff-ffffffffffff/resourceGroups/exampleresourcegroup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/exampleprimaryidentity";
const ID2: &str = "/subscriptions/ffffffff-ffff-ffff-ffff-ffffffffffff/resourceGroups/exampleresourcegroup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/examplegeoredundantidentity";
const KEY1: &str = "https://exampleprimarykeyvault.vault.azure.net/keys/examplekey/0123456789abcdef0123456789abcdef";
const KEY2: &str = "https://exampleprimarykeyvault.vault.azure.net/keys/examplekey/fedcba9876543210fedcba9876543210";
const GEOKEY: &str = "https://examplegeokv.vault.azure.net/keys/examplekey/00112233445566778899aabbccddeeff";

#[test]
fn customer_managed_keys_send_the_example_encryption_and_a_new_key_version_is_one_patch() {
    let fake = FakeArm::start();
    let tmp = tempfile::tempdir().unwrap();
    let ef = tmp.path().join("db.env");
    let ef = ef.to_str().unwrap();
    let cmk = [
        "--cmk-key-uri",
        KEY1,
        "--cmk-identity",
        ID1,
        "--cmk-geo-key-uri",
        GEOKEY,
        "--cmk-geo-identity",
        ID2,
        "--no-app-role",
    ];

    // Checked first: a malformed URI (64), the geo pair when geo backup is
    // on (64), identities that exist (65).
    azure(
        &fake,
        &args(
            ef,
            &["--cmk-key-uri", "https://kv.example.com/keys/k", "--cmk-identity", ID1],
        ),
    )
    .expect_code(64);
    azure(
        &fake,
        &args(
            ef,
            &[
                "--cmk-key-uri",
                KEY1,
                "--cmk-identity",
                ID1,
                "--geo-redundant-backup",
                "enabled",
                "--no-app-role",
            ],
        ),
    )
    .expect_error(
        64,
        "a customer-managed key with geo-redundant backup needs --cmk-geo-key-uri",
    );
    azure(&fake, &args(ef, &cmk)).expect_error(65, &format!("the managed identity {ID1} does not exist"));
    assert_eq!(writes(&fake), 0);
    fake.with(|s| {
        for id in [ID1, ID2] {
            s.resources.insert(
                id.to_ascii_lowercase(),
                json!({"id": id, "name": id.rsplit('/').next(), "properties": {"principalId": "p", "clientId": "c", "tenantId": "t"}}),
            );
        }
    });

    // The create: the example's identity and dataEncryption paths.
    azure(
        &fake,
        &args(ef, &[&cmk[..], &["--geo-redundant-backup", "enabled"]].concat()),
    )
    .expect_code(0);
    let put = exact(&fake, "PUT", &server_path("exampleserver")).pop().unwrap().body;
    let example = example_request("ServersCreateGeoRestoreWithDataEncryptionEnabled.json");
    assert_eq!(
        leaf_paths(&put["properties"]["dataEncryption"]),
        leaf_paths(&example["properties"]["dataEncryption"])
    );
    assert_eq!(put["identity"], example["identity"]);
    assert_eq!(put["properties"]["dataEncryption"]["type"], "AzureKeyVault");
    assert_eq!(put["properties"]["dataEncryption"]["primaryKeyURI"], KEY1);

    the_status_reports_the_key(&fake);
    a_new_key_version_is_one_patch(&fake, ef);
    // A server with service-managed keys cannot take one (create time).
    fake.with(|s| {
        let srv = s.resources.get_mut(&server_path("exampleserver")).unwrap();
        srv["properties"]["dataEncryption"] = json!({"type": "SystemManaged"});
    });
    let rotated = ["--cmk-key-uri", KEY2, "--cmk-identity", ID1, "--no-app-role"];
    azure(&fake, &args(ef, &rotated)).expect_error(65, "the server's data is encrypted with service-managed keys");
}

/// `status` reports the key and its state.
fn the_status_reports_the_key(fake: &FakeArm) {
    // status reports the key and its state.
    fake.with(|s| {
        let srv = s.resources.get_mut(&server_path("exampleserver")).unwrap();
        srv["properties"]["dataEncryption"]["primaryEncryptionKeyStatus"] = "Valid".into();
        srv["properties"]["dataEncryption"]["geoBackupEncryptionKeyStatus"] = "Invalid".into();
    });
    let st = azure(
        fake,
        &[
            "status",
            "--resource-group",
            "exampleresourcegroup",
            "--name",
            "exampleserver",
        ],
    );
    let rec = st.expect_code(0).one("provision.azure.status");
    assert_eq!(
        (rec["data_encryption"].as_str(), rec["key_uri"].as_str()),
        (Some("AzureKeyVault"), Some(KEY1))
    );
    assert_eq!(
        (rec["key_status"].as_str(), rec["geo_backup_key_status"].as_str()),
        (Some("Valid"), Some("Invalid"))
    );
    assert_eq!(rec["geo_backup_key_uri"], GEOKEY);
}

/// A new key version: one PATCH, then nothing more.
fn a_new_key_version_is_one_patch(fake: &FakeArm, ef: &str) {
    // A new key version: one PATCH with the whole dataEncryption (the
    // identities are already the server's), then nothing more.
    let before = writes(fake);
    let rotated = ["--cmk-key-uri", KEY2, "--cmk-identity", ID1, "--no-app-role"];
    let r = azure(fake, &args(ef, &rotated));
    assert_eq!(actions(&r.expect_code(0).one("provision.azure")), ["update_server"]);
    assert_eq!(writes(fake), before + 1);
    let patch = exact(fake, "PATCH", &server_path("exampleserver")).pop().unwrap().body;
    assert_eq!(
        patch,
        json!({"properties": {"dataEncryption": {"type": "AzureKeyVault", "primaryKeyURI": KEY2,
            "primaryUserAssignedIdentityId": ID1, "geoBackupKeyURI": GEOKEY, "geoBackupUserAssignedIdentityId": ID2}}})
    );
    assert_eq!(
        azure(fake, &args(ef, &rotated)).expect_code(0).one("provision.azure")["changed"],
        false
    );
    assert_eq!(writes(fake), before + 1);
}

// ------------------------------------------------------- Entra ID

const OID: &str = "00000000-0000-0000-0000-0000000000aa";

#[test]
fn entra_sign_in_sets_auth_config_and_the_administrator() {
    let fake = FakeArm::start();
    let tmp = tempfile::tempdir().unwrap();
    let ef = tmp.path().join("db.env");
    let ef = ef.to_str().unwrap();
    let tenant = "00000000-0000-0000-0000-000000000001";
    let entra = [
        "--auth-mode",
        "both",
        "--entra-admin",
        OID,
        "--entra-admin-name",
        "dba@contoso.com",
        "--no-app-role",
    ];
    azure(
        &fake,
        &args(ef, &["--entra-admin", OID, "--entra-admin-name", "x", "--no-app-role"]),
    )
    .expect_error(64, "--entra-admin needs Entra ID sign-in");
    azure(&fake, &args(ef, &["--auth-mode", "entra", "--no-app-role"]))
        .expect_error(64, "--auth-mode entra without --entra-admin");

    let r = azure(&fake, &args(ef, &entra));
    let rec = r.expect_code(0).one("provision.azure");
    let put = exact(&fake, "PUT", &server_path("exampleserver")).pop().unwrap().body;
    assert_eq!(
        put["properties"]["authConfig"],
        json!({"activeDirectoryAuth": "Enabled", "passwordAuth": "Enabled", "tenantId": tenant})
    );
    // The administrators request, in the shape of the 2025-08-01 example
    // AdministratorsMicrosoftEntraAdd.json (properties tenantId,
    // principalType, principalName; the object id in the path).
    let adm = exact(
        &fake,
        "PUT",
        &format!("{}/administrators/{OID}", server_path("exampleserver")),
    );
    assert_eq!(adm.len(), 1, "{r:?}");
    assert_eq!(
        adm[0].body,
        json!({"properties": {"tenantId": tenant, "principalType": "User", "principalName": "dba@contoso.com"}})
    );
    assert!(actions(&rec).contains(&"set_entra_admin"), "{rec}");
    assert_eq!(
        (rec["entra_auth"].as_str(), rec["password_auth"].as_str()),
        (Some("Enabled"), Some("Enabled"))
    );
    // Again: nothing to do; a group of another name is a new PUT.
    let before = writes(&fake);
    assert_eq!(
        azure(&fake, &args(ef, &entra)).expect_code(0).one("provision.azure")["changed"],
        false
    );
    assert_eq!(writes(&fake), before);
    let mut group = entra.to_vec();
    group.extend(["--entra-admin-type", "group"]);
    azure(&fake, &args(ef, &group)).expect_code(0);
    assert_eq!(
        exact(
            &fake,
            "PUT",
            &format!("{}/administrators/{OID}", server_path("exampleserver"))
        )
        .len(),
        2
    );

    // Entra only, on a new server: no password administrator is sent, and
    // no password role is made (a warning says how to map the identity).
    let ef2 = tmp.path().join("entra.env");
    let only = [
        "--name",
        "entraonly",
        "--auth-mode",
        "entra",
        "--entra-admin",
        OID,
        "--entra-admin-name",
        "dba@contoso.com",
    ];
    let mut a = args(ef2.to_str().unwrap(), &only);
    let i = a.iter().position(|x| *x == "exampleserver").unwrap();
    a.remove(i);
    a.remove(i - 1);
    let r = azure(&fake, &a);
    let rec = r.expect_code(0).one("provision.azure");
    let put = exact(&fake, "PUT", &server_path("entraonly")).pop().unwrap().body;
    assert!(
        put["properties"].get("administratorLogin").is_none()
            && put["properties"].get("administratorLoginPassword").is_none(),
        "{put}"
    );
    assert_eq!(put["properties"]["authConfig"]["passwordAuth"], "Disabled");
    assert_eq!(rec["admin_env_file"], Value::Null);
    assert_eq!(rec["app_role"], Value::Null);
    assert!(r.stderr.contains("pgaadauth_create_principal"), "{r:?}");
}

// ------------------------------------------------ workload identity

#[test]
fn workload_identity_tokens_come_over_https_with_the_test_ca() {
    let fake = FakeArm::start();
    let tmp = tempfile::tempdir().unwrap();
    let https = fake.https(&tmp.path().join("tls"));
    let token_file = tmp.path().join("federated-token");
    std::fs::write(&token_file, sw_testkit::azure::FEDERATED_TOKEN).unwrap();
    let tf = token_file.to_str().unwrap();
    let ca = https.ca_file().to_str().unwrap().to_owned();
    let status = [
        "status",
        "--auth",
        "workload-identity",
        "--resource-group",
        "exampleresourcegroup",
        "--name",
        "exampleserver",
    ];
    fake.with(|s| {
        let mut srv = json!({"name": "exampleserver", "location": "eastus", "properties": {"state": "Ready"}});
        srv["id"] = json!(server_path("exampleserver"));
        s.resources.insert(server_path("exampleserver"), srv);
    });
    let env = |with_ca: bool| {
        let mut v = vec![
            ("AZURE_CLIENT_SECRET", ""),
            ("AZURE_FEDERATED_TOKEN_FILE", tf),
            ("SW_AZURE_TOKEN_ENDPOINT", https.url.as_str()),
        ];
        if with_ca {
            v.push(("SSL_CERT_FILE", ca.as_str()));
        }
        v
    };
    // Without the test CA the authority's certificate is not trusted.
    let r = azure_env(&fake, &status, &env(false));
    assert_eq!(r.code, 69, "{r:?}");
    assert!(r.stderr.contains("certificate verify failed"), "{r:?}");
    assert!(!r.stderr.contains(sw_testkit::azure::FEDERATED_TOKEN));

    let r = azure_env(&fake, &status, &env(true));
    assert_eq!(r.expect_code(0).one("provision.azure.status")["state"], "Ready");
    let tokens: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|q| q.path().ends_with("/oauth2/v2.0/token"))
        .collect();
    assert_eq!(tokens.len(), 1, "{r:?}");
    assert_eq!(tokens[0].header(sw_testkit::azure_https::VIA_HEADER), Some("https"));
    let form = sw_testkit::azure_https::form(&tokens[0].raw_body);
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(field("client_assertion"), Some(sw_testkit::azure::FEDERATED_TOKEN));
    assert_eq!(field("scope").map(|s| s.ends_with("/.default")), Some(true));
    assert!(
        tokens[0].path().starts_with("/00000000-0000-0000-0000-000000000001/"),
        "{}",
        tokens[0].path()
    );
    assert!(!r.stderr.contains(sw_testkit::azure::FEDERATED_TOKEN) && !r.stdout.contains("fake-token-"));
}

// ------------------------------------------ the disruptive changes

/// A fake holding the example server at PostgreSQL `version`, zone-redundant HA.
fn upgradable(version: &str) -> (FakeArm, tempfile::TempDir, PathBuf) {
    let fake = FakeArm::start();
    fake.with(|s| s.in_progress_polls = 2);
    let tmp = tempfile::tempdir().unwrap();
    let ef = tmp.path().join("db.env");
    let a = args(
        ef.to_str().unwrap(),
        &[
            "--pg-version",
            version,
            "--ha",
            "zone-redundant",
            "--standby-zone",
            "2",
            "--geo-redundant-backup",
            "enabled",
            "--no-app-role",
        ],
    );
    azure(&fake, &a).expect_code(0);
    (fake, tmp, ef)
}

#[test]
fn a_major_version_upgrade_backs_up_first_then_upgrades_and_waits() {
    let (fake, _tmp, ef) = upgradable("16");
    let ef = ef.to_str().unwrap();
    let up = |extra: &[&'static str]| {
        let mut v = args(ef, &["--pg-version", "17", "--no-app-role"]);
        v.extend_from_slice(extra);
        v
    };
    let before = writes(&fake);
    // Without --apply-disruptive: a warning saying what it would do.
    let r = azure(&fake, &up(&[]));
    let rec = r.expect_code(0).one("provision.azure");
    assert!(rec["warnings"].to_string().contains("--apply-disruptive"), "{rec}");
    assert_eq!(writes(&fake), before);

    // The dry run shows the backup, then the upgrade.
    let r = azure(&fake, &up(&["--apply-disruptive", "--dry-run"]));
    let reqs: Vec<Value> = r
        .expect_code(0)
        .records()
        .into_iter()
        .filter(|x| x["kind"] == "azure.request")
        .collect();
    assert_eq!(reqs.len(), 2, "{r:?}");
    assert_eq!(reqs[0]["method"], "PUT");
    let url = reqs[0]["url"].as_str().unwrap();
    assert!(url.contains("/backups/sw-pre-upgrade-pg16-pg17-"), "{url}");
    assert_eq!(
        reqs[0]["body"],
        Value::Null,
        "an on-demand backup is a PUT without a body"
    );
    assert_eq!(reqs[1]["method"], "PATCH");
    // As the 2025-08-01 example ServersUpdateWithMajorVersionUpgrade.json.
    assert_eq!(
        reqs[1]["body"],
        json!({"properties": {"createMode": "Update", "version": "17"}})
    );
    assert_eq!(writes(&fake), before);

    // The real run sends both, in that order, each waited for.
    let n = fake.requests().len();
    let r = azure(&fake, &up(&["--apply-disruptive"]));
    let rec = r.expect_code(0).one("provision.azure");
    assert_eq!(actions(&rec), ["backup", "upgrade_major_version"]);
    assert_eq!(rec["version"], "17");
    let log = &fake.requests()[n..];
    let at = |method: &str, part: &str| {
        log.iter()
            .position(|q| q.method == method && q.path().contains(part))
            .unwrap()
    };
    let (backup, upgrade) = (
        at("PUT", "/backups/sw-pre-upgrade-pg16-pg17-"),
        at("PATCH", &server_path("exampleserver")),
    );
    assert!(backup < upgrade);
    let polls_between = log[backup..upgrade]
        .iter()
        .filter(|q| q.path().contains("/azureasyncoperation/"))
        .count();
    assert_eq!(
        polls_between, 3,
        "the backup was not waited for (InProgress twice, then Succeeded)"
    );
    let polls_after = log[upgrade..]
        .iter()
        .filter(|q| q.path().contains("/azureasyncoperation/"))
        .count();
    assert_eq!(polls_after, 3, "the upgrade was not waited for");
    assert!(fake.with(|s| s.ops.values().all(|o| o.done)));
    // Done: nothing more.
    assert_eq!(
        azure(&fake, &up(&["--apply-disruptive"]))
            .expect_code(0)
            .one("provision.azure")["changed"],
        false
    );
}

#[test]
fn upgrade_prechecks_refuse_before_anything_is_written() {
    let (fake, _tmp, ef) = upgradable("15");
    let ef = ef.to_str().unwrap();
    let up = args(ef, &["--pg-version", "17", "--no-app-role", "--apply-disruptive"]);
    let before = writes(&fake);
    let base = server_path("exampleserver");
    fake.with(|s| {
        s.resources.insert(
            format!("{base}/configurations/azure.extensions"),
            json!({"name": "azure.extensions", "properties": {"value": "PG_STAT_STATEMENTS,TIMESCALEDB,age", "source": "user-override"}}),
        );
    });
    azure(&fake, &up).expect_error(
        65,
        "cannot upgrade PostgreSQL 15 to 17: azure.extensions allows timescaledb, age",
    );
    fake.with(|s| {
        s.resources.remove(&format!("{base}/configurations/azure.extensions"));
        s.resources.insert(
            format!("{base}/replicas/examplereplica"),
            json!({"name": "examplereplica"}),
        );
    });
    azure(&fake, &up).expect_error(
        65,
        "cannot upgrade PostgreSQL 15 to 17: it has read replicas (examplereplica)",
    );
    fake.with(|s| {
        s.resources.remove(&format!("{base}/replicas/examplereplica"));
    });
    let down = args(ef, &["--pg-version", "14", "--no-app-role", "--apply-disruptive"]);
    azure(&fake, &down).expect_error(
        65,
        "the server runs PostgreSQL 15 and a major version cannot go down to 14",
    );
    assert_eq!(writes(&fake), before);
}

#[test]
fn the_standby_moves_zones_and_geo_backup_offers_the_restore_path() {
    let (fake, _tmp, ef) = upgradable("17");
    let ef = ef.to_str().unwrap();
    let before = writes(&fake);
    // A failover swapped the zones: not drift.
    fake.with(|s| {
        let srv = s.resources.get_mut(&server_path("exampleserver")).unwrap();
        srv["properties"]["availabilityZone"] = "2".into();
        srv["properties"]["highAvailability"]["standbyAvailabilityZone"] = "1".into();
    });
    let same = args(ef, &["--standby-zone", "2", "--no-app-role"]);
    let rec = azure(&fake, &same).expect_code(0).one("provision.azure");
    assert_eq!(
        (rec["changed"].clone(), rec["warnings"].clone()),
        (json!(false), json!([])),
        "{rec}"
    );
    fake.with(|s| {
        let srv = s.resources.get_mut(&server_path("exampleserver")).unwrap();
        srv["properties"]["availabilityZone"] = "1".into();
        srv["properties"]["highAvailability"]["standbyAvailabilityZone"] = "2".into();
    });
    // The standby asked for zone 3: a warning, then with the flag HA off and on.
    let move_it = args(ef, &["--standby-zone", "3", "--no-app-role"]);
    let rec = azure(&fake, &move_it).expect_code(0).one("provision.azure");
    assert!(rec["warnings"].to_string().contains("move it"), "{rec}");
    assert_eq!(writes(&fake), before);
    let mut apply = move_it.clone();
    apply.push("--apply-disruptive");
    let rec = azure(&fake, &apply).expect_code(0).one("provision.azure");
    assert_eq!(actions(&rec), ["disable_ha", "enable_ha"]);
    let patches: Vec<Value> = exact(&fake, "PATCH", &server_path("exampleserver"))
        .into_iter()
        .map(|q| q.body)
        .collect();
    assert_eq!(
        patches[patches.len() - 2..],
        [
            json!({"properties": {"highAvailability": {"mode": "Disabled"}}}),
            json!({"properties": {"highAvailability": {"mode": "ZoneRedundant", "standbyAvailabilityZone": "3"}}}),
        ]
    );
    assert_eq!(rec["standby_zone"], "3");

    // Geo-redundant backup: fixed at create; the message offers the restore.
    let geo = args(
        ef,
        &[
            "--geo-redundant-backup",
            "disabled",
            "--no-app-role",
            "--standby-zone",
            "3",
        ],
    );
    let r = azure(&fake, &geo);
    assert!(
        r.expect_code(0).stderr.contains("createMode PointInTimeRestore"),
        "{r:?}"
    );
    let mut geo_apply = geo.clone();
    geo_apply.push("--apply-disruptive");
    let n = writes(&fake);
    azure(&fake, &geo_apply).expect_error(
        65,
        "geo-redundant backup is Enabled on exampleserver, and Azure fixes it when a server is created",
    );
    assert_eq!(writes(&fake), n);
}

// ------------------------------------------------- the application role

/// A local TLS cluster standing in for the Azure server: its certificate
/// is for the server's name, and it has the administrator as Azure makes
/// it (CREATEROLE and CREATEDB, no superuser).
struct StandIn {
    cluster: sw_testkit::pg::TestCluster,
    admin_password: String,
}

impl StandIn {
    fn start() -> StandIn {
        let cluster = sw_testkit::pg::TestCluster::start_with(&sw_testkit::pg::Opts {
            tls: true,
            cert_names: vec![FQDN.to_owned()],
            ..sw_testkit::pg::Opts::default()
        });
        let admin_password = sw_core::secret::generate_password().unwrap();
        cluster.psql(
            "postgres",
            &format!("CREATE ROLE exampleadministratorlogin LOGIN CREATEROLE CREATEDB PASSWORD '{admin_password}'"),
        );
        StandIn {
            cluster,
            admin_password,
        }
    }

    fn ca(&self) -> String {
        self.cluster.certs.as_ref().unwrap().ca_cert.display().to_string()
    }

    /// `--connect-to` and `--sslrootcert`, the documented host override.
    fn flags(&self) -> Vec<String> {
        vec![
            "--connect-to".into(),
            format!("127.0.0.1:{}", self.cluster.port),
            "--sslrootcert".into(),
            self.ca(),
        ]
    }

    /// Sign in as `user` with `password`, verify-full against the server's name.
    fn sign_in(&self, user: &str, password: &str, db: &str, sql: &str) -> Result<String, String> {
        let conn = format!(
            "host={FQDN} hostaddr=127.0.0.1 port={} user={user} password={password} dbname={db} sslmode=verify-full sslrootcert={}",
            self.cluster.port,
            self.ca()
        );
        let out = std::process::Command::new(sw_testkit::pg::bindir().prog("psql"))
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", &conn, "-c", sql])
            .env_remove("PGPASSWORD")
            .output()
            .unwrap();
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

#[test]
fn the_application_role_is_made_over_sql_and_the_env_file_never_holds_the_administrator() {
    let fake = FakeArm::start();
    fake.with(|s| s.in_progress_polls = 0);
    let pg = StandIn::start();
    let tmp = tempfile::tempdir().unwrap();
    let env_file = tmp.path().join("db.env");
    let admin_file = tmp.path().join("db.admin.env");
    let ef = env_file.to_str().unwrap();
    // The administrator's password, as an earlier run would have saved it
    // (the stand-in knows it too).
    std::fs::write(
        &admin_file,
        format!(
            "DATABASE_URL='postgresql://exampleadministratorlogin:{}@{FQDN}:5432/exampledatabase?sslmode=verify-full'\n",
            pg.admin_password
        ),
    )
    .unwrap();
    let flags = pg.flags();
    let mut a = args(ef, &["--allow-ip", "203.0.113.0/24"]);
    a.extend(flags.iter().map(String::as_str));

    let r = azure(&fake, &a);
    let rec = r.expect_code(0).one("provision.azure");
    assert_eq!(
        actions(&rec),
        [
            "create_server",
            "allow_ip",
            "write_admin_env_file",
            "create_role",
            "write_env_file",
            "create_database"
        ],
        "{rec}"
    );
    assert_eq!(rec["app_role"], "exampledatabase");
    assert_eq!(rec["admin_env_file"], admin_file.to_str().unwrap());
    // The server was created with the administrator's saved password; the
    // database came from SQL (owned by the role), not from ARM.
    let put = exact(&fake, "PUT", &server_path("exampleserver")).pop().unwrap().body;
    assert_eq!(
        put["properties"]["administratorLoginPassword"],
        pg.admin_password.as_str()
    );
    assert_eq!(fake.count("PUT", "/databases/"), 0);

    // Two 0600 files: the application's holds the role, never the administrator.
    assert_eq!((mode(&env_file), mode(&admin_file)), (0o600, 0o600));
    assert_eq!(url_part(&env_file, "user"), "exampledatabase");
    assert_eq!(url_part(&admin_file, "user"), "exampleadministratorlogin");
    let app_pw = url_part(&env_file, "password");
    let env_text = std::fs::read_to_string(&env_file).unwrap();
    assert!(!env_text.contains("exampleadministratorlogin") && !env_text.contains(&pg.admin_password));
    assert_eq!(url_part(&env_file, "host"), FQDN);
    for secret in [&app_pw, &pg.admin_password] {
        assert!(!r.stdout.contains(secret.as_str()) && !r.stderr.contains(secret.as_str()));
    }
    // The role signs in with the env file's password and owns its database.
    let who = pg.sign_in(
        "exampledatabase",
        &app_pw,
        "exampledatabase",
        "CREATE TABLE t (x int); SELECT current_user || ',' || pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()",
    );
    assert_eq!(who.unwrap().lines().last(), Some("exampledatabase,exampledatabase"));
    // The stored password is a verifier the role was given, never the password.
    let stored = pg.cluster.psql(
        "postgres",
        "SELECT rolpassword FROM pg_authid WHERE rolname = 'exampledatabase'",
    );
    assert!(stored.starts_with("SCRAM-SHA-256$4096:"), "{stored}");

    // Again: nothing changes.
    let again = azure(&fake, &a);
    assert_eq!(
        again.expect_code(0).one("provision.azure")["changed"],
        false,
        "{again:?}"
    );
    assert_eq!(std::fs::read_to_string(&env_file).unwrap(), env_text);

    rotation_and_repair(&fake, &pg, &a, &env_file);
    an_unreachable_server_says_what_to_do(&fake, ef);
    the_old_layout_moves_the_administrator_out(&fake, &pg, &a, &env_file, &admin_file);
}

/// --rotate-password gives the role a new one (the old stops working); a
/// password changed by hand is set back to the env file's.
fn rotation_and_repair(fake: &FakeArm, pg: &StandIn, a: &[&str], env_file: &Path) {
    let old = url_part(env_file, "password");
    let mut rot = a.to_vec();
    rot.push("--rotate-password");
    let rec = azure(fake, &rot).expect_code(0).one("provision.azure");
    assert_eq!(actions(&rec), ["rotate_password", "write_env_file"], "{rec}");
    let new = url_part(env_file, "password");
    assert_ne!(new, old);
    assert!(
        pg.sign_in("exampledatabase", &new, "exampledatabase", "SELECT 1")
            .is_ok()
    );
    assert!(
        pg.sign_in("exampledatabase", &old, "exampledatabase", "SELECT 1")
            .is_err()
    );
    pg.cluster
        .psql("postgres", "ALTER ROLE exampledatabase PASSWORD 'changed-by-hand'");
    let rec = azure(fake, a).expect_code(0).one("provision.azure");
    assert_eq!(actions(&rec), ["set_password"], "{rec}");
    assert!(
        pg.sign_in("exampledatabase", &new, "exampledatabase", "SELECT 1")
            .is_ok()
    );
}

/// Not reachable: one line saying how to let this host in.
fn an_unreachable_server_says_what_to_do(fake: &FakeArm, ef: &str) {
    let a = args(ef, &["--connect-to", "127.0.0.1:1", "--connect-timeout", "2s"]);
    let r = azure(fake, &a);
    r.expect_error(
        69,
        &format!("connecting to {FQDN} through 127.0.0.1:1 as the administrator to make the application role"),
    );
    assert!(
        r.stderr.contains("--allow-ip auto") && r.stderr.contains("--no-app-role"),
        "{r:?}"
    );
}

/// An env file from before the application role (the administrator's
/// strings in it, no admin file): the administrator moves to its own
/// file, the env file becomes the role's.
fn the_old_layout_moves_the_administrator_out(
    fake: &FakeArm,
    pg: &StandIn,
    a: &[&str],
    env_file: &Path,
    admin_file: &Path,
) {
    let admin_text = std::fs::read_to_string(admin_file).unwrap();
    std::fs::rename(admin_file, env_file).unwrap();
    let rec = azure(fake, a).expect_code(0).one("provision.azure");
    assert_eq!(
        actions(&rec),
        ["write_admin_env_file", "set_password", "write_env_file"],
        "{rec}"
    );
    assert_eq!(std::fs::read_to_string(admin_file).unwrap(), admin_text);
    assert_eq!(url_part(env_file, "user"), "exampledatabase");
    assert!(
        pg.sign_in(
            "exampledatabase",
            &url_part(env_file, "password"),
            "exampledatabase",
            "SELECT 1"
        )
        .is_ok()
    );
}
