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
    _registered = True


def load_config(overrides=(), config_name="config", validate=True):
    """Compose the config the command line would, from the same conf_dir().

    `overrides` are command-line style strings: ["+recipe=mlp", "optimizer.lr=0.05"].
    A user recipe folder can be added with "hydra.searchpath=[file:///abs/myconf]"
    (holding myconf/recipe/NAME.yaml). With validate=True the result has passed
    schema.validate(). Errors raise ConfigError with Hydra's message included (the
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
    from trainkit.app.schema import validate as check

    register_all()
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
