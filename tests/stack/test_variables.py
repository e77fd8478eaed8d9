"""Variables: defaults, environment, --var, precedence, typed substitution, unresolved names."""

from __future__ import annotations

from mtlsform.stack.model import Output, Reference
from tests.stack.conftest import MINIMAL

WITH_VARS = MINIMAL.replace("port: 443", "port: ${var.port}").replace(
    "- domain: www.example.com", "- domain: ${var.domain}").replace(
    "web: {name: demo-clb}", "web: {name: \"${var.clb}-clb\"}").replace(
    "stack: demo\n",
    "stack: demo\nvariables:\n  domain: www.example.com\n  port: 443\n  clb: demo\n")


def test_defaults(load_text) -> None:
    stack, lines = load_text(WITH_VARS)
    assert lines == []
    listener = stack.listeners["https"]
    assert listener.port == 443 and listener.rules[0].domain == "www.example.com"
    assert stack.load_balancers["web"].display_name == "demo-clb"
    assert stack.variables == {"clb": "demo", "domain": "www.example.com", "port": "443"}


def test_environment_overrides_default_and_cli_overrides_environment(load_text) -> None:
    environ = {"MTLSFORM_VAR_domain": "env.example.com", "MTLSFORM_VAR_port": "8443",
               "MTLSFORM_VAR_undeclared": "ignored"}
    stack, _ = load_text(WITH_VARS, environ=environ)
    assert stack.listeners["https"].rules[0].domain == "env.example.com"
    assert stack.listeners["https"].port == 8443
    stack, _ = load_text(WITH_VARS, {"domain": "cli.example.com"}, environ)
    assert stack.listeners["https"].rules[0].domain == "cli.example.com"
    assert stack.listeners["https"].port == 8443
    assert stack.variables["domain"] == "cli.example.com"


def test_a_whole_value_takes_the_type_the_setting_expects(load_text) -> None:
    # Digits are a number for a port and text for a name: the schema decides.
    text = WITH_VARS.replace('"${var.clb}-clb"', '"${var.clb}"')
    stack, lines = load_text(text, {"port": "9443", "clb": "12345"})
    assert lines == []
    assert stack.listeners["https"].port == 9443
    assert stack.load_balancers["web"].display_name == "12345"
    stack, lines = load_text(WITH_VARS, {"port": "9443", "clb": "12345"})
    assert lines == []
    assert stack.listeners["https"].port == 9443
    assert stack.load_balancers["web"].display_name == "12345-clb"


def test_a_value_from_a_variable_is_checked_like_any_other(load_text) -> None:
    _, lines = load_text(WITH_VARS, {"port": "70000"})
    assert lines == ["s.yaml:18:11: error: listeners.https.port: 70000 is above the maximum "
                     "65535 (hint: the value comes from ${var.port})"]
    _, lines = load_text(WITH_VARS, {"port": "https"})
    assert lines == ["s.yaml:18:11: error: listeners.https.port: expected an integer, got "
                     "'https' (hint: the value comes from ${var.port})"]


def test_cli_variable_must_be_declared(load_text) -> None:
    _, lines = load_text(WITH_VARS, {"domian": "x"})
    assert lines == ["error: --var domian: the stack declares no variable 'domian' "
                     "(hint: did you mean 'domain'?)"]


def test_required_variable(load_text) -> None:
    text = WITH_VARS.replace("domain: www.example.com\n  port", "domain: null\n  port")
    _, lines = load_text(text)
    assert lines == ["s.yaml:4:3: error: variables.domain: variable 'domain' has no value (its "
                     "default is null, so it must be set) (hint: set it with --var "
                     "domain=VALUE or MTLSFORM_VAR_domain=VALUE)"]
    stack, lines = load_text(text, environ={"MTLSFORM_VAR_domain": "api.example.com"})
    assert lines == [] and stack.listeners["https"].rules[0].domain == "api.example.com"


def test_unresolved_variable_is_reported_at_its_column(load_text) -> None:
    text = WITH_VARS.replace('"${var.clb}-clb"', '"x-${var.clb}-${var.cbl}"')
    _, lines = load_text(text)
    assert lines == ["s.yaml:11:29: error: load_balancers.web.name: unknown variable 'cbl' in "
                     "${var.cbl} (hint: did you mean 'clb'?)"]


def test_escaped_dollar_brace_is_literal(load_text) -> None:
    text = WITH_VARS.replace('"${var.clb}-clb"', '"$${not-a-var}"')
    stack, lines = load_text(text)
    assert lines == [] and stack.load_balancers["web"].display_name == "${not-a-var}"


def test_outputs_keep_references_and_substitute_variables(load_text) -> None:
    text = WITH_VARS + ('outputs:\n  url: "https://${var.domain}:${listener.https.port}/ '
                        'at ${load_balancer.web.vip} costs $${x}"\n  port: 443\n')
    stack, lines = load_text(text)
    assert lines == []
    url = stack.outputs["url"]
    assert url.template == ("https://www.example.com:${listener.https.port}/ at "
                            "${load_balancer.web.vip} costs $${x}")
    assert url.references == (Reference("listener", "https", "port"),
                              Reference("load_balancer", "web", "vip"))
    values = {"listener.https.port": "443", "load_balancer.web.vip": "1.2.3.4"}
    assert url.render(values) == "https://www.example.com:443/ at 1.2.3.4 costs ${x}"
    assert stack.outputs["port"].template == "443"


def test_a_variable_value_with_dollar_brace_stays_literal_in_outputs() -> None:
    output = Output("o", "a $${var.x} b")
    assert output.render({}) == "a ${var.x} b"
