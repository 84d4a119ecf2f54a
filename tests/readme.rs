//! The README's command list must name every command and subcommand of the command table.

#[test]
fn readme_names_every_command_in_the_table() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md is readable");
    // A command is listed as `NAME` or at the start of a syntax line, `NAME args...`.
    let lists =
        |name: &str| readme.contains(&format!("`{name}`")) || readme.contains(&format!("`{name} "));
    let mut missing = Vec::new();
    for spec in reddish::commands::table::COMMANDS {
        let name = spec.name.to_ascii_uppercase();
        if !lists(&name) {
            missing.push(name);
        }
        for sub in spec.subcommands {
            let sub_name = sub.name.to_ascii_uppercase();
            if !lists(&sub_name) {
                missing.push(format!("{} {sub_name}", spec.name));
            }
        }
    }
    assert!(missing.is_empty(), "README.md does not list: {missing:?}");
}
