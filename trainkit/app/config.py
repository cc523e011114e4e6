"""Finding trainkit's configs and composing them outside the command line.

conf/ and recipes/ sit at the repository root in a checkout and inside the package
(trainkit/conf, trainkit/recipes) in a wheel. Both are found from this file's location:
not from the working directory, and not with `pkg://`, which fails under hatchling's
editable install (design/hydra-notes.md §1).
"""
import re
from pathlib import Path

_PKG = Path(__file__).resolve().parent.parent        # .../trainkit
_PACKAGE_HEADER = re.compile(r"^#\s*@package\s+(\S+)", re.M)


def _data_dir(name):
    """trainkit/<name> inside a wheel (force-included), else <repo>/<name> in a checkout."""
    inside = _PKG / name
    return inside if inside.is_dir() else _PKG.parent / name


def conf_dir():
    """The folder holding config.yaml and the config groups."""
    return _data_dir("conf")


def recipes_dir():
    """The folder of shipped recipes, served as the config group `recipe`."""
    return _data_dir("recipes")


def register_recipes(dirs):
    """Store every recipes/*.yaml in the ConfigStore as group `recipe`.

    A config group is a folder under a search-path root, named after the folder, so
    `recipes/` could only ever answer to `recipes=`; the ConfigStore is the one way to
    serve it as `+recipe=NAME`. The `# @package` header is honoured by hand, as the
    ConfigStore does not read comments.
    """
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    cs = ConfigStore.instance()
    for folder in dirs:
        for f in sorted(Path(folder).glob("*.yaml")):
            text = f.read_text(encoding="utf-8")
            header = _PACKAGE_HEADER.search(text[:512])
            cs.store(group="recipe", name=f.stem, node=OmegaConf.create(text),
                     package=header.group(1) if header else None,
                     provider=f"trainkit recipes ({folder})")


_registered = False


def register_all(force=False):
    """Everything the config needs from the ConfigStore. Must run before composing; once
    per process is enough (force=True re-reads recipes/ after editing it)."""
    global _registered
    if _registered and not force:
        return
    from trainkit.app.schema import register_configs

    register_configs()
    register_recipes([recipes_dir()])
    register_resolvers()
    _registered = True


# ----- the command line's help, and keys the user spells either way ---------------------------------
# The user's config groups, in the order --help lists them; anything else a search path adds
# (a user's own group) follows them. Hydra's schema/* groups are how the YAML files get their
# types, not choices anyone makes, so --help leaves them out.
USER_GROUPS = {
    "model": "the network",
    "initializer": "how weights start (MXNet's mx.init names)",
    "optimizer": "how weights move",
    "data": "what to learn from",
    "device": "where to compute",
    "trainer": "the training loop",
    "task": "what the outputs mean",
    "loss": "what training minimises (default: the task's)",
    "debug": "quick checks: 1 batch that writes nothing; can it learn 4 batches?",
    "logger": "where metrics also go",
    "callbacks": "your own trainkit.Callback objects (_target_: module.Class)",
    "hparams_search": "a hyper-parameter search, with -m (the optuna extra)",
}
_INTERNAL_GROUPS = ("schema", "hydra")

# Groups that have an entry (or null) in conf/config.yaml's defaults, so Hydra wants `GROUP=x`
# and refuses `+GROUP=x` ("Multiple values"). Both spellings have been documented, so both work.
DEFAULTED_GROUPS = ("hparams_search", "debug", "logger", "callbacks")


def normalize_overrides(args):
    """`+hparams_search=x` (and the other DEFAULTED_GROUPS) as `hparams_search=x`; the rest unchanged."""
    out = []
    for a in args:
        key = a.split("=", 1)[0] if "=" in a else None
        if key is not None and key.startswith("+") and not key.startswith("++") and key[1:] in DEFAULTED_GROUPS:
            a = a[1:]
        out.append(a)
    return out


def check_choices(args):
    """Raise ConfigError for what Hydra would answer with a traceback or a page of search paths: an
    option whose optional extra is not installed (hparams_search needs optuna), or a debug.KEY=VALUE
    with no debug mode chosen (Hydra's "Unexpected type for root: NoneType")."""
    from trainkit.app.schema import ConfigError
    keys = {a.split("=", 1)[0].lstrip("+~"): a.split("=", 1)[1] for a in args if "=" in a and not a.startswith("-")}
    setting = next((k for k in keys if k.startswith("debug.")), None)
    if setting is not None and keys.get("debug") in (None, "null"):
        raise ConfigError(f"{setting}={keys[setting]} changes a debug mode's setting, but no debug mode is chosen; "
                          f"choose one first: debug=fast_dev_run {setting}=... or debug=overfit {setting}=... "
                          "(conf/debug/*.yaml).")
    for a in args:
        key, _, value = a.partition("=")
        if key.lstrip("+~") == "hparams_search" and value not in ("", "null") and not key.startswith("~"):
            try:
                import hydra_plugins.hydra_optuna_sweeper  # noqa: F401
                import optuna  # noqa: F401
            except ImportError as e:
                raise ConfigError(
                    f"hparams_search={value} runs an Optuna study through Hydra's Optuna sweeper, which is not "
                    f"installed here ({e}). Install the extra: pip install 'trainkit[optuna]' (hydra-optuna-sweeper, "
                    "optuna 2.10), then run it as a sweep: python -m trainkit -m hparams_search=" + value + ".") \
                    from None


def _all_groups(loader, parent="", out=None):
    """{group: sorted options} below `parent`, Hydra's internal groups left out. Each loader call
    copies the whole config repository, so every group is asked once."""
    from hydra.core.object_type import ObjectType
    out = {} if out is None else out
    for name in loader.list_groups(parent):
        group = f"{parent}/{name}" if parent else name
        if group.split("/")[0] in _INTERNAL_GROUPS:
            continue
        options = loader.get_group_options(group, ObjectType.CONFIG)
        if options:
            out[group] = sorted(options)
        _all_groups(loader, group, out)
    return out


def help_groups():
    """The --help listing: each user group with its options and what it is for, then the recipes.

    Read from Hydra's own config loader while `--help` runs, so a user's search path
    (hydra.searchpath, -cd) shows its groups and recipes too; from conf/ otherwise."""
    from hydra.core.global_hydra import GlobalHydra
    if GlobalHydra.instance().is_initialized():
        options = _all_groups(GlobalHydra.instance().config_loader())
        groups = list(options)
    else:
        groups = sorted(p.name for p in conf_dir().iterdir() if p.is_dir() and p.name not in _INTERNAL_GROUPS)
        options = {g: sorted(f.stem for f in (conf_dir() / g).glob("*.yaml")) for g in groups}
        groups.append("recipe")
        options["recipe"] = sorted(f.stem for f in recipes_dir().glob("*.yaml"))
    ordered = [g for g in USER_GROUPS if g in options] + sorted(g for g in groups if g not in USER_GROUPS
                                                                and g != "recipe")
    width = max(len(g) for g in ordered + ["recipe"]) + 1
    lines = []
    for g in ordered:
        what = f"  -- {USER_GROUPS[g]}" if g in USER_GROUPS else ""
        lines.append(f"  {g + ':':<{width}} {', '.join(options[g])}{what}")
    recipes = options.get("recipe", [])
    lines += ["", "Recipes (whole experiments; +recipe=NAME, then change anything after it):",
              f"  {'recipe:':<{width}} {', '.join(recipes) or '(none found)'}"]
    return "\n".join(lines)


def optuna_direction(monitor=None, mode="auto", task="classification"):
    """`minimize` or `maximize` for the metric a trial returns (trainer.early_stopping.monitor; null is
    the task's default), by the same rule that picks best.params (trainkit.callbacks._mode_for)."""
    from trainkit.callbacks import _mode_for
    from trainkit.tasks import get_task
    monitor = monitor if monitor not in (None, "", "None", "null") else get_task(str(task)).default_monitor
    return "minimize" if _mode_for(str(monitor), str(mode)) == "min" else "maximize"


def register_resolvers():
    """${trainkit_help:}, ${trainkit_version:} and ${trainkit_direction:...} for conf/ (see config.yaml)."""
    from omegaconf import OmegaConf

    import trainkit
    OmegaConf.register_new_resolver("trainkit_help", help_groups, replace=True)
    OmegaConf.register_new_resolver("trainkit_version", lambda: trainkit.__version__, replace=True)
    OmegaConf.register_new_resolver("trainkit_direction", optuna_direction, replace=True)


def load_config(overrides=(), config_name="config", validate=True):
    """Compose the config the command line would, from the same conf_dir().

    `overrides` are command-line style strings: ["+recipe=mlp", "optimizer.lr=0.05"].
    A user recipe folder can be added with "hydra.searchpath=[file:///abs/myconf]"
    (holding myconf/recipe/NAME.yaml). With validate=True the result has passed
    checks.validate(). Errors raise ConfigError with Hydra's message included (the
    useful part of a ConfigCompositionException is in its __cause__).

    Safe to call inside a running @hydra.main app: Hydra's GlobalHydra is a process-wide
    singleton that `initialize_config_dir` refuses to re-enter, so it is set aside and
    put back.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.singleton import Singleton
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from trainkit.app.schema import ConfigError
    from trainkit.app.checks import validate as check

    register_all()
    overrides = normalize_overrides(overrides)
    check_choices(overrides)
    saved = Singleton._instances.pop(GlobalHydra, None)
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3",
                                   job_name="trainkit"):
            cfg = compose(config_name=config_name, overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as e:
        cause = f"\n{e.__cause__}" if e.__cause__ is not None else ""
        raise ConfigError(f"{e}{cause}") from e
    finally:
        Singleton._instances.pop(GlobalHydra, None)
        if saved is not None:
            Singleton._instances[GlobalHydra] = saved
    if validate:
        check(cfg)
    return cfg
