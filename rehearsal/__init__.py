"""Local rehearsal: deploy a Stage's synthesized templates to moto_server and push real traffic."""
