//! The TypeScript side of the IPC contract (`commands::contract!`), generated and committed
//! under `ui/src/lib/bindings/`: every type a command takes or returns or an event carries
//! (ts-rs, one file each), and `ipc.ts` — one typed function per command calling `invoke` with
//! the command's name and argument keys, the events by name with their payloads, the error
//! codes. The test below fails when the committed files are stale; `make bindings` rewrites
//! them.

#[cfg(test)]
pub(crate) use contract::{Command, Contract, Event, Type};

#[cfg(test)]
mod contract {
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    use ts_rs::{Config, TypeVisitor, TS};

    /// The commands and events, as `commands::contract` lists them.
    pub struct Contract {
        pub commands: Vec<Command>,
        pub events: Vec<Event>,
    }

    pub struct Command {
        /// The Rust name, which is also the name `invoke` sends.
        pub name: &'static str,
        pub docs: Vec<&'static str>,
        /// Each argument's Rust name with its type.
        pub args: Vec<(&'static str, Type)>,
        pub result: Type,
    }

    pub struct Event {
        pub name: &'static str,
        pub docs: Vec<&'static str>,
        pub payload: Type,
    }

    /// A Rust type as TypeScript sees it: its name there, the exported types the name refers
    /// to (to import), and how to write those types' files.
    pub struct Type {
        pub ts: String,
        pub refers_to: BTreeSet<(String, PathBuf)>,
        pub export: fn(&Config),
    }

    impl Type {
        pub fn of<T: TS + 'static>(cfg: &Config) -> Type {
            let mut named = Named(cfg, BTreeSet::new());
            named.visit::<T>();
            T::visit_generics(&mut named);
            Type {
                ts: T::name(cfg),
                refers_to: named.1,
                export: export::<T>,
            }
        }
    }

    /// Collects the exportable types among those visited (a type and its generic arguments).
    struct Named<'a>(&'a Config, BTreeSet<(String, PathBuf)>);

    impl TypeVisitor for Named<'_> {
        fn visit<T: TS + 'static + ?Sized>(&mut self) {
            if let Some(path) = T::output_path() {
                self.1.insert((T::ident(self.0), path));
            }
        }
    }

    /// The declaration (and its Rust type) in each file written, to refuse two under one name.
    static EXPORTED: std::sync::Mutex<std::collections::BTreeMap<PathBuf, (String, &'static str)>> =
        std::sync::Mutex::new(std::collections::BTreeMap::new());

    /// Records the Rust type behind the file of `T` and of every type it depends on, and fails
    /// when two Rust types would write one file (they would overwrite each other's): give one
    /// a `#[ts(rename = "…")]`.
    struct Claim<'a>(&'a Config);

    impl TypeVisitor for Claim<'_> {
        fn visit<T: TS + 'static + ?Sized>(&mut self) {
            let Some(path) = T::output_path() else {
                return;
            };
            let (decl, rust) = (T::decl(self.0), std::any::type_name::<T>());
            let mut seen = EXPORTED.lock().unwrap_or_else(|p| p.into_inner());
            match seen.insert(path.clone(), (decl.clone(), rust)) {
                Some((d, other)) if d != decl => {
                    panic!("{other} and {rust} both export {}", path.display())
                }
                Some(_) => return,
                None => {}
            }
            drop(seen);
            T::visit_dependencies(self);
        }
    }

    /// Writes the files of `T` (or of its generic arguments) and everything they depend on.
    fn export<T: TS + 'static>(cfg: &Config) {
        struct Export<'a>(&'a Config);
        impl TypeVisitor for Export<'_> {
            fn visit<T: TS + 'static + ?Sized>(&mut self) {
                if T::output_path().is_some() {
                    Claim(self.0).visit::<T>();
                    if let Err(e) = T::export_all(self.0) {
                        panic!("{}: {e}", std::any::type_name::<T>());
                    }
                }
            }
        }
        let mut e = Export(cfg);
        e.visit::<T>();
        T::visit_generics(&mut e);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::fmt::Write as _;
    use std::path::{Path, PathBuf};

    use ts_rs::TS;

    use super::Contract;

    /// Tauri's default argument renaming (`rename_all = "camelCase"`): `base_url` → `baseUrl`.
    fn camel(snake: &str) -> String {
        let mut out = String::new();
        let mut upper = false;
        for c in snake.chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                out.extend(c.to_uppercase());
                upper = false;
            } else {
                out.push(c);
            }
        }
        out
    }

    fn quote(s: &str) -> String {
        serde_json::to_string(s).unwrap()
    }

    fn jsdoc(out: &mut String, indent: &str, docs: &[&str]) {
        match docs {
            [] => {}
            [one] => writeln!(out, "{indent}/**{one} */").unwrap(),
            many => {
                writeln!(out, "{indent}/**").unwrap();
                for line in many {
                    writeln!(out, "{indent} *{line}").unwrap();
                }
                writeln!(out, "{indent} */").unwrap();
            }
        }
    }

    /// `ipc.ts`: the contract's commands, events and error codes in TypeScript.
    fn ipc_ts(c: &Contract) -> String {
        let mut imports = BTreeSet::new();
        for cmd in &c.commands {
            for (_, t) in &cmd.args {
                imports.extend(t.refers_to.iter().cloned());
            }
            imports.extend(cmd.result.refers_to.iter().cloned());
        }
        for e in &c.events {
            imports.extend(e.payload.refers_to.iter().cloned());
        }

        let mut out = String::new();
        out.push_str(
            "// Generated from the IPC contract (`contract!` in src-tauri/desktop/src/commands/mod.rs)\n\
             // by src-tauri/desktop/src/bindings.rs. Do not edit: `make bindings` rewrites it.\n\n",
        );
        for (name, path) in &imports {
            let module = path.with_extension("");
            writeln!(
                out,
                "import type {{ {name} }} from {};",
                quote(&format!("./{}", module.display()))
            )
            .unwrap();
        }
        out.push_str(
            "\n/** Sends one command: `invoke` of @tauri-apps/api/core, or a stand-in in tests. */\n\
             export type Invoke = <T>(command: string, args: Record<string, unknown>) => Promise<T>;\n\n",
        );

        out.push_str(
            "/** Every command's name on the wire and its argument keys, in parameter order. */\n\
             export const COMMANDS = {\n",
        );
        for cmd in &c.commands {
            let keys: Vec<String> = cmd.args.iter().map(|(a, _)| quote(&camel(a))).collect();
            writeln!(
                out,
                "  {}: {{ name: {}, args: [{}] }},",
                camel(cmd.name),
                quote(cmd.name),
                keys.join(", ")
            )
            .unwrap();
        }
        out.push_str("} as const;\n\nexport type CommandKey = keyof typeof COMMANDS;\n\n");

        out.push_str(
            "/** One typed function per command, sending through `invoke`. */\n\
             export function commands(invoke: Invoke) {\n  return {\n",
        );
        for cmd in &c.commands {
            jsdoc(&mut out, "    ", &cmd.docs);
            let params: Vec<String> = cmd
                .args
                .iter()
                .map(|(a, t)| format!("{}: {}", camel(a), t.ts))
                .collect();
            let keys: Vec<String> = cmd.args.iter().map(|(a, _)| camel(a)).collect();
            let args = if keys.is_empty() {
                "{}".to_owned()
            } else {
                format!("{{ {} }}", keys.join(", "))
            };
            writeln!(
                out,
                "    {}: ({}): Promise<{}> => invoke({}, {args}),",
                camel(cmd.name),
                params.join(", "),
                cmd.result.ts,
                quote(cmd.name),
            )
            .unwrap();
        }
        out.push_str("  };\n}\n\nexport type Commands = ReturnType<typeof commands>;\n\n");

        out.push_str("/** The events the app emits, by name. */\nexport const EVENTS = {\n");
        for e in &c.events {
            jsdoc(&mut out, "  ", &e.docs);
            writeln!(
                out,
                "  {}: {},",
                camel(&e.name.replace('-', "_")),
                quote(e.name)
            )
            .unwrap();
        }
        out.push_str(
            "} as const;\n\n/** Each event's payload. */\nexport type EventPayloads = {\n",
        );
        for e in &c.events {
            writeln!(out, "  {}: {};", quote(e.name), e.payload.ts).unwrap();
        }
        out.push_str("};\n\n");

        let codes: Vec<String> = privacy_desk_core::error::Error::CODES
            .iter()
            .map(|c| quote(c))
            .collect();
        out.push_str(
            "/** The `code` of every error a command rejects with (`Error::code()` in Rust). */\n",
        );
        writeln!(
            out,
            "export const ERROR_CODES = [{}] as const;",
            codes.join(", ")
        )
        .unwrap();
        out.push_str("export type ErrorCode = (typeof ERROR_CODES)[number];\n");
        out
    }

    fn config(dir: &Path) -> ts_rs::Config {
        // JSON numbers: every i64 here is an id or a count far below 2^53.
        ts_rs::Config::new()
            .with_large_int("number")
            .with_out_dir(dir)
    }

    fn export_all(dir: &Path) {
        let cfg = config(dir);
        let contract = crate::commands::contract(&cfg);
        for cmd in &contract.commands {
            for (_, t) in &cmd.args {
                (t.export)(&cfg);
            }
            (cmd.result.export)(&cfg);
        }
        for e in &contract.events {
            (e.payload.export)(&cfg);
        }
        // Types the screens name that no command returns whole.
        privacy_desk_core::requests::Reminder::export_all(&cfg).expect("Reminder");
        std::fs::write(dir.join("ipc.ts"), ipc_ts(&contract)).unwrap();
    }

    fn files(dir: &Path) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| e.path().extension().is_some_and(|x| x == "ts"))
                    .map(|e| {
                        (
                            e.file_name().to_string_lossy().into_owned(),
                            std::fs::read_to_string(e.path()).unwrap(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    #[test]
    fn typescript_bindings_are_up_to_date() {
        let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ui/src/lib/bindings");
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            let _ = std::fs::remove_dir_all(&committed);
            export_all(&committed);
            return;
        }
        let fresh = tempfile::tempdir().unwrap();
        export_all(fresh.path());
        let (fresh, committed) = (files(fresh.path()), files(&committed));
        let names = |f: &[(String, String)]| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&fresh),
            names(&committed),
            "ui/src/lib/bindings is stale: run `make bindings` and commit the result"
        );
        for ((name, want), (_, have)) in fresh.iter().zip(&committed) {
            assert!(
                want == have,
                "ui/src/lib/bindings/{name} is stale: run `make bindings` and commit the result"
            );
        }
    }

    #[test]
    fn camel_case_is_tauris() {
        assert_eq!(camel("base_url"), "baseUrl");
        assert_eq!(camel("processor_ids"), "processorIds");
        assert_eq!(camel("id"), "id");
    }

    #[test]
    fn every_command_and_event_is_named_once() {
        let c = crate::commands::contract(&config(Path::new(".")));
        let names: BTreeSet<_> = c.commands.iter().map(|c| c.name).collect();
        assert_eq!(names.len(), c.commands.len());
        let events: BTreeSet<_> = c.events.iter().map(|e| e.name).collect();
        assert_eq!(events.len(), c.events.len());
    }
}
