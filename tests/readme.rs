//! The README's command list must name every command and subcommand of the command table.

#[test]
fn readme_names_every_command_in_the_table() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md is readable");
    let mut missing = Vec::new();
    for spec in reddish::commands::table::COMMANDS {
        let name = format!("`{}`", spec.name.to_ascii_uppercase());
        if !readme.contains(&name) {
            missing.push(name);
        }
        for sub in spec.subcommands {
            let sub_name = format!("`{}`", sub.name.to_ascii_uppercase());
            if !readme.contains(&sub_name) {
                missing.push(format!("{} {sub_name}", spec.name));
            }
        }
    }
    assert!(missing.is_empty(), "README.md does not list: {missing:?}");
}
