"""Flask extensions, unbound; ``create_app`` binds them with ``init_app``."""

from functools import cached_property

from babel import support
from flask_babel import Babel, Domain, get_locale
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


class CatalogDomain(Domain):
    """Finds the ``zh_CN`` catalog for the locale that Babel spells ``zh_Hans_CN``."""

    def get_translations(self):
        locale = get_locale()
        if locale is None:
            return support.NullTranslations()
        key = str(locale)
        if key not in self.cache:
            names = [key]
            if locale.territory:
                names.append(f"{locale.language}_{locale.territory}")
            names.append(locale.language)
            translations = support.Translations()
            for dirname in self.translation_directories:
                catalog = support.Translations.load(dirname, names, self.domain[0])
                translations.merge(catalog)
                # merge() copies the messages, not the plural rule: without it, Chinese (one
                # plural form) would pick msgstr[1] for n != 1 and fall back to English.
                if hasattr(catalog, "plural"):
                    translations.plural = catalog.plural
            self.cache[key] = translations
        return self.cache[key]


class KioskBabel(Babel):
    @cached_property
    def domain_instance(self):
        return CatalogDomain(domain=self.domain)


# expire_on_commit=False: a template reading a row after commit must not reload it (MEASUREMENTS.md).
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
htmx = HTMX()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = KioskBabel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
