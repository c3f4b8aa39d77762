"""Every user-facing string of the bot, in French and English (pure: no I/O).

Texts are Telegram HTML. :func:`t` escapes every value it interpolates, so a tag label, a user's
search words or a feed error can never break the markup; pass :class:`Html` for a value that is
already markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass

LANGUAGES = ("fr", "en")


@dataclass(frozen=True)
class Html:
    """A value that is already Telegram HTML (not escaped again by :func:`t`)."""

    markup: str

    def __str__(self) -> str:
        return self.markup


def esc(value: object, *, attribute: bool = False) -> str:
    """Escape for Telegram HTML text (``<``, ``>``, ``&``), and quotes too inside an attribute."""
    return html.escape(str(value), quote=attribute)


def pick_language(user_code: str | None, stored: str | None, default: str) -> str:
    """The language to answer in: the user's Telegram language if fr/en, else the chat's, else default."""
    for code in (user_code, stored, default):
        short = (code or "").split("-")[0].lower()
        if short in LANGUAGES:
            return short
    return "fr"


def answer_language(user_code: str | None, chat: dict[str, object] | None, default: str) -> str:
    """The chat's language when it chose one with /lang, else :func:`pick_language`."""
    stored = str(chat["language"]) if chat else None
    if chat and chat.get("language_chosen") and stored in LANGUAGES:
        return stored
    return pick_language(user_code, stored, default)


def zone_label(tz: str) -> str:
    """A time zone as people write it: "Etc/GMT-2" (POSIX signs are inverted) → "UTC+2"."""
    match = re.fullmatch(r"Etc/GMT([+-])(\d{1,2})", tz)
    if not match:
        return tz
    return f"UTC{'-' if match.group(1) == '+' else '+'}{int(match.group(2))}"


# (command, admin only, French description, English description): the command menus and /help.
COMMANDS: tuple[tuple[str, bool, str, str], ...] = (
    ("start", False, "S'abonner aux résumés (ou reprendre)", "Subscribe to digests (or resume)"),
    ("stop", False, "Mettre les résumés en pause", "Pause the digests"),
    ("tags", False, "Choisir les sujets (tout, ou une liste)", "Choose topics (everything, or a list)"),
    ("follow", False, "Ne suivre que certains sujets : /follow ukraine",
     "Follow only some topics: /follow ukraine"),
    ("unfollow", False, "Retirer un sujet de la liste suivie", "Remove a topic from the followed list"),
    ("mute", False, "Ne plus rien recevoir sur un sujet : /mute usa", "Never get a topic: /mute usa"),
    ("unmute", False, "Recevoir de nouveau un sujet coupé", "Get a muted topic again"),
    ("digest", False, "Recevoir maintenant les nouveautés", "Get what is new right now"),
    ("time", False, "Heures des résumés : /time 07:30 18:00", "Digest times: /time 07:30 18:00"),
    ("timezone", False, "Fuseau horaire : /timezone Europe/Paris ou UTC+2",
     "Time zone: /timezone Europe/Paris or UTC+2"),
    ("lang", False, "Langue du bot : /lang fr ou /lang en", "Bot language: /lang en or /lang fr"),
    ("search", False, "Chercher dans les articles récents", "Search recent stories"),
    ("settings", False, "Voir vos réglages", "Show your settings"),
    ("help", False, "Aide", "Help"),
    ("stats", True, "Statistiques (admin)", "Statistics (admin)"),
    ("feeds", True, "Flux en erreur (admin)", "Failing feeds (admin)"),
    ("reload", True, "Relire la configuration (admin)", "Reload the configuration (admin)"),
    ("addfeed", True, "Ajouter un flux : /addfeed URL (admin)", "Add a feed: /addfeed URL (admin)"),
    ("removefeed", True, "Retirer un flux : /removefeed NOM (admin)",
     "Remove a feed: /removefeed NAME (admin)"),
)


def command_menu(language: str, *, admin: bool = False) -> list[tuple[str, str]]:
    """(command, description) pairs for setMyCommands."""
    col = 2 if language == "fr" else 3
    return [(c[0], c[col]) for c in COMMANDS if admin or not c[1]]


_FR: dict[str, str] = {
    "welcome": (
        "👋 <b>Bienvenue !</b> Vous recevrez un résumé de l'actualité internationale "
        "à {times} ({timezone}).\n{topics}\n\n"
        "<b>Commandes</b>\n{commands}\n\nEnvoyez /digest pour recevoir tout de suite les dernières {window}."
    ),
    "welcome_back": (
        "👋 <b>Content de vous revoir !</b> Les résumés reprennent à {times} ({timezone}).\n{topics}\n\n"
        "<b>Commandes</b>\n{commands}"
    ),
    "stopped": "⏸ Résumés en pause. Vos réglages sont conservés : /start pour reprendre.",
    "already_stopped": "Les résumés sont déjà en pause. /start pour reprendre.",
    "not_subscribed": "Ce chat n'est pas encore abonné : envoyez /start.",
    "not_subscribed_group": "Ce groupe n'est pas encore abonné : un administrateur peut envoyer /start.",
    "topics_all": "Sujets : tous",
    "topics_all_but": "Tous les sujets sauf : {labels}",
    "topics_only": "Sujets suivis : {labels}",
    "topics_muted": "Sujets coupés : {labels}",
    "n_more_tags": "{n} autres (/tags)",
    "tags_intro": (
        "<b>Sujets</b>\n« Tout » : toutes les nouvelles. Touchez un sujet pour ne recevoir que lui "
        "(puis d'autres) ; ✓ = suivi, 🔇 = coupé (/unmute pour le rétablir)."
    ),
    "everything_button": "Tout",
    "tap_everything": "Vous recevez tous les sujets.",
    "no_tags_configured": "Aucun sujet n'est configuré pour l'instant.",
    "tag_on": "✓ {label} : suivi",
    "tag_off": "{label} : plus suivi",
    "tag_gone": "Ce sujet n'existe plus : voici la liste à jour.",
    "button_gone": "Ce bouton ne fonctionne plus : envoyez /tags pour une liste à jour.",
    "follow_usage": "Indiquez un sujet : <code>/follow ukraine</code> (la liste : /tags).\n{topics}",
    "unfollow_usage": "Indiquez un sujet : <code>/unfollow ukraine</code>.\n{topics}",
    "mute_usage": "Indiquez un sujet à couper : <code>/mute usa</code> (la liste : /tags).\n{topics}",
    "unmute_usage": "Indiquez un sujet coupé : <code>/unmute usa</code>.\n{topics}",
    "followed": "✓ Vous suivez maintenant : {labels}.",
    "followed_only": (
        "✓ Vous ne suivez plus que : {labels} (au lieu de tous les sujets). Ajoutez-en avec /follow ; "
        "« Tout » dans /tags pour tout recevoir de nouveau."
    ),
    "unfollowed": "Vous ne suivez plus : {labels}.",
    "muted": "🔇 Sujet coupé : {labels}. Aucun sujet qui en parle ne vous sera envoyé.",
    "unmuted": "🔈 Sujet rétabli : {labels}.",
    "already_followed": "Vous suivez déjà : {labels}.",
    "not_followed": "Vous ne suiviez pas : {labels}.",
    "not_followed_everything": (
        "Vous suivez tous les sujets : rien à retirer. Pour ne plus rien recevoir sur {labels} : "
        "<code>/mute {first}</code>."
    ),
    "already_muted": "Sujet déjà coupé : {labels}.",
    "not_muted": "Ce sujet n'est pas coupé : {labels}.",
    "now_everything": "Liste vide : vous recevez de nouveau toutes les nouvelles.",
    "unknown_tag_suggest": (
        "Je ne connais pas le sujet « {word} ». Vouliez-vous dire : {suggestions} ? "
        "Par exemple <code>/{command} {first}</code>."
    ),
    "unknown_tag": "Je ne connais pas le sujet « {word} ». /tags montre la liste des sujets.",
    "lang_usage": (
        "Langue : français. Écrivez <code>/lang en</code> pour l'anglais (ou <code>/lang fr</code>)."
    ),
    "lang_ok": "Langue : français. Tous les messages de ce chat seront en français.",
    "more_button": "Voir la suite ({n})",
    "more_gone": "Ce bouton a expiré : envoyez /digest pour les sujets que vous n'avez pas vus.",
    "more_none": "Plus rien à voir dans ce résumé : tout vous a été envoyé.",
    "nothing_new": "Rien de nouveau depuis votre dernier résumé.",
    "digest_busy": "Un résumé est déjà en route pour ce chat : il contiendra tout ce qui est nouveau.",
    "digest_failed": "Le résumé n'a pas pu être envoyé en entier ; la suite partira automatiquement.",
    "time_usage": (
        "Indiquez une ou plusieurs heures : <code>/time 07:30 18:00</code> (au plus {max}).\n"
        "Actuellement : {times} ({timezone})."
    ),
    "time_invalid": "« {value} » n'est pas une heure. Écrivez par exemple <code>/time 07:30 18:00</code>.",
    "time_too_many": "Au plus {max} heures par jour, s'il vous plaît.",
    "time_ok": "⏰ Résumés à {times} ({timezone}).",
    "timezone_usage": (
        "Indiquez un fuseau horaire : <code>/timezone Europe/Paris</code>.\nActuellement : {timezone}."
    ),
    "timezone_invalid": (
        "« {value} » n'est pas un fuseau horaire connu. "
        "Exemple : <code>/timezone Europe/Paris</code>."
    ),
    "timezone_suggest": (
        "« {value} » n'est pas un fuseau horaire connu. Vouliez-vous "
        "dire <code>/timezone {suggestion}</code> ?"
    ),
    "timezone_ok": "🌍 Fuseau horaire : {timezone} (il est {local} là-bas). Résumés à {times}.",
    "timezone_fixed_ok": (
        "🌍 Fuseau horaire : {timezone}, un décalage fixe, sans heure d'été (un lieu comme "
        "<code>Europe/Paris</code> la suit). Il est {local} là-bas. Résumés à {times}."
    ),
    "timezone_offset_unsupported": (
        "« {value} » n'est pas un fuseau horaire connu : les décalages fixes vont d'heure en heure, "
        "de UTC-12 à UTC+14. Donnez un lieu : <code>/timezone Asia/Kolkata</code>."
    ),
    "search_usage": "Indiquez des mots à chercher : <code>/search Corée du Nord</code>",
    "search_none": "Aucun article récent ne correspond à « {words} ».",
    "search_header": "🔎 <b>{words}</b> — {n} résultat(s), les plus récents d'abord :",
    "settings": (
        "⚙️ <b>Réglages</b>\nÉtat : {state}\n{topics}\nHeures : {times}\nFuseau : {timezone}\n"
        "Dernier résumé : {last}\nLangue : français"
    ),
    "state_active": "actif",
    "state_paused": "en pause",
    "state_blocked": "bloqué",
    "never": "jamais",
    "help": (
        "<b>newsbot</b> vous envoie un résumé de l'actualité internationale aux heures choisies : "
        "les sujets nouveaux ou qui ont grossi depuis le dernier résumé, chacun une seule fois.\n"
        "Classement : par nombre de sources, le plus récent d'abord à égalité ; un sujet sans nouvel "
        "article depuis plus de 24 h passe après les plus frais. Au plus {max} sujets par résumé : "
        "« Voir la suite » envoie les suivants, et /digest les propose aussi.\n"
        "Vous suivez tout, ou seulement une liste (/follow) ; rien de ce qui porte un sujet coupé "
        "(/mute) ne vous est envoyé.\n\n<b>Commandes</b>\n{commands}\n\n"
        "Dans un groupe, seuls les administrateurs changent les réglages ; tout le monde peut utiliser "
        "/digest, /search et /help."
    ),
    "admin_help": "\n\n<b>Administration</b>\n{commands}",
    "admin_only": "Cette commande est réservée aux administrateurs du bot.",
    "group_admin_only": "Dans un groupe, seuls les administrateurs peuvent changer les réglages.",
    "not_allowed": "Désolé, ce bot est privé et ce chat n'est pas autorisé à s'abonner.",
    "unknown_command": "Je ne connais pas la commande {command}. /help liste les commandes.",
    "too_long": "Ce message est trop long pour une commande ({n} caractères, au plus {max}).",
    "text_only": "Je comprends seulement les commandes : /help pour la liste.",
    "error": "Désolé, quelque chose s'est mal passé. Réessayez dans un instant.",
    "stats": (
        "📊 <b>Statistiques</b>\nFlux : {feeds_ok} ok, {feeds_failing} en erreur, {feeds_dead} morts\n"
        "24 h : {articles_24h} articles, {clusters_24h} sujets\n"
        "Abonnés : {chats_active} actifs, {chats_paused} en pause, {chats_blocked} bloqués\n"
        "Dernière collecte : {last_poll}\nDernier résumé : {last_digest}\nRésumés en attente : {pending}"
    ),
    "stats_storage": "⚠️ <b>Stockage</b> : {error}",
    "feeds_none": "✅ Tous les flux fonctionnent.",
    "feeds_header": "<b>Flux en erreur ou morts</b> ({n})",
    "feed_line": "{mark} <b>{name}</b> — {errors} erreur(s) depuis {since}\n    {error}",
    "reload_ok": "🔄 Configuration relue : {feeds} flux, {tags} sujets.",
    "reload_refused": "⚠️ Configuration non relue (celle en service est gardée) : {problems}",
    "reload_other": "🔄 {summary}",
    "reload_unavailable": "Le rechargement n'est pas disponible pour l'instant.",
    "reload_failed": "Échec du rechargement : {error}",
    "addfeed_usage": (
        "Indiquez l'adresse d'un flux ou d'un site : <code>/addfeed https://exemple.fr/rss</code> "
        "(un nom peut suivre l'adresse)."
    ),
    "addfeed_known": "Ce flux est déjà configuré : « {name} ».",
    "addfeed_failed": "❌ Flux non ajouté : {error}",
    "addfeed_skipped": "❌ Flux « {name} » non ajouté : {why}",
    "addfeed_found_on": " (trouvé sur {page})",
    "addfeed_ok": (
        "✅ Flux ajouté : <b>{name}</b>{where}\n{url}\n{format}, {entries} articles en ce moment.\n{applied}"
    ),
    "removefeed_usage": "Indiquez le nom du flux : <code>/removefeed Le Monde</code>.",
    "removefeed_unknown": "Aucun flux ne s'appelle « {name} ».",
    "removefeed_suggest": "Aucun flux ne s'appelle « {name} ». Vouliez-vous dire « {suggestion} » ?",
    "removefeed_ok": (
        "🗑 Flux retiré : <b>{name}</b>. Ses articles déjà reçus restent jusqu'à leur expiration.\n{applied}"
    ),
    "config_not_written": "❌ La configuration n'a pas été modifiée : {error}",
    "feeds_apply_later": "Le bot l'appliquera à sa prochaine relecture de la configuration.",
}

_EN: dict[str, str] = {
    "welcome": (
        "👋 <b>Welcome!</b> You will get a digest of world news at {times} ({timezone}).\n"
        "{topics}\n\n<b>Commands</b>\n{commands}\n\nSend /digest to get the last {window} now."
    ),
    "welcome_back": (
        "👋 <b>Welcome back!</b> Digests resume at {times} ({timezone}).\n{topics}\n\n"
        "<b>Commands</b>\n{commands}"
    ),
    "stopped": "⏸ Digests paused. Your settings are kept: /start to resume.",
    "already_stopped": "Digests are already paused. /start to resume.",
    "not_subscribed": "This chat is not subscribed yet: send /start.",
    "not_subscribed_group": "This group is not subscribed yet: an administrator can send /start.",
    "topics_all": "Topics: all",
    "topics_all_but": "All topics except: {labels}",
    "topics_only": "Followed topics: {labels}",
    "topics_muted": "Muted topics: {labels}",
    "n_more_tags": "{n} more (/tags)",
    "tags_intro": (
        "<b>Topics</b>\n“Everything”: all the news. Tap a topic to get only that one (then add "
        "others); ✓ = followed, 🔇 = muted (/unmute to restore it)."
    ),
    "everything_button": "Everything",
    "tap_everything": "You get all topics.",
    "no_tags_configured": "No topics are configured yet.",
    "tag_on": "✓ {label}: followed",
    "tag_off": "{label}: unfollowed",
    "tag_gone": "That topic no longer exists: here is the current list.",
    "button_gone": "This button no longer works: send /tags for a current list.",
    "follow_usage": "Name a topic: <code>/follow ukraine</code> (the list: /tags).\n{topics}",
    "unfollow_usage": "Name a topic: <code>/unfollow ukraine</code>.\n{topics}",
    "mute_usage": "Name a topic to mute: <code>/mute usa</code> (the list: /tags).\n{topics}",
    "unmute_usage": "Name a muted topic: <code>/unmute usa</code>.\n{topics}",
    "followed": "✓ You now follow: {labels}.",
    "followed_only": (
        "✓ You now follow only: {labels} (instead of all topics). Add more with /follow; "
        "“Everything” in /tags to get all the news again."
    ),
    "unfollowed": "You no longer follow: {labels}.",
    "muted": "🔇 Topic muted: {labels}. No story about it will be sent to you.",
    "unmuted": "🔈 Topic restored: {labels}.",
    "already_followed": "You already follow: {labels}.",
    "not_followed": "You were not following: {labels}.",
    "not_followed_everything": (
        "You follow all topics: nothing to remove. To never get {labels}: <code>/mute {first}</code>."
    ),
    "already_muted": "Topic already muted: {labels}.",
    "not_muted": "This topic is not muted: {labels}.",
    "now_everything": "List empty: you get all the news again.",
    "unknown_tag_suggest": (
        "I don't know the topic “{word}”. Did you mean: {suggestions}? "
        "For example <code>/{command} {first}</code>."
    ),
    "unknown_tag": "I don't know the topic “{word}”. /tags shows the list of topics.",
    "lang_usage": "Language: English. Write <code>/lang fr</code> for French (or <code>/lang en</code>).",
    "lang_ok": "Language: English. Every message in this chat will be in English.",
    "more_button": "More ({n})",
    "more_gone": "This button has expired: send /digest for the stories you have not seen.",
    "more_none": "Nothing more in this digest: you have seen it all.",
    "nothing_new": "Nothing new since your last digest.",
    "digest_busy": "A digest is already on its way to this chat: it will hold everything new.",
    "digest_failed": "The digest could not be sent in full; the rest will follow automatically.",
    "time_usage": (
        "Give one or more times: <code>/time 07:30 18:00</code> (at most {max}).\n"
        "Now: {times} ({timezone})."
    ),
    "time_invalid": "“{value}” is not a time of day. Write for example <code>/time 07:30 18:00</code>.",
    "time_too_many": "At most {max} times a day, please.",
    "time_ok": "⏰ Digests at {times} ({timezone}).",
    "timezone_usage": "Give a time zone: <code>/timezone Europe/Paris</code>.\nNow: {timezone}.",
    "timezone_invalid": "“{value}” is not a known time zone. Example: <code>/timezone Europe/London</code>.",
    "timezone_suggest": (
        "“{value}” is not a known time zone. Did you "
        "mean <code>/timezone {suggestion}</code>?"
    ),
    "timezone_ok": "🌍 Time zone: {timezone} (it is {local} there). Digests at {times}.",
    "timezone_fixed_ok": (
        "🌍 Time zone: {timezone}, a fixed offset with no daylight saving (a place like "
        "<code>Europe/London</code> follows it). It is {local} there. Digests at {times}."
    ),
    "timezone_offset_unsupported": (
        "“{value}” is not a known time zone: fixed offsets go by whole hours, from UTC-12 to "
        "UTC+14. Name a place: <code>/timezone Asia/Kolkata</code>."
    ),
    "search_usage": "Give words to search for: <code>/search North Korea</code>",
    "search_none": "No recent story matches “{words}”.",
    "search_header": "🔎 <b>{words}</b> — {n} result(s), most recent first:",
    "settings": (
        "⚙️ <b>Settings</b>\nState: {state}\n{topics}\nTimes: {times}\nTime zone: {timezone}\n"
        "Last digest: {last}\nLanguage: English"
    ),
    "state_active": "active",
    "state_paused": "paused",
    "state_blocked": "blocked",
    "never": "never",
    "help": (
        "<b>newsbot</b> sends you a digest of world news at the times you choose: the stories that "
        "are new or grew since your last digest, each only once.\n"
        "Ranking: by number of sources, the most recent first among equals; a story with no new "
        "article for more than 24 h comes after the fresher ones. At most {max} stories per digest: "
        "“More” sends the next ones, and /digest offers them too.\n"
        "You follow everything, or only a list (/follow); nothing carrying a muted topic (/mute) "
        "is ever sent.\n\n"
        "<b>Commands</b>\n{commands}\n\nIn a group only administrators change the settings; "
        "anyone may use /digest, /search and /help."
    ),
    "admin_help": "\n\n<b>Administration</b>\n{commands}",
    "admin_only": "This command is for the bot's administrators only.",
    "group_admin_only": "In a group only administrators can change the settings.",
    "not_allowed": "Sorry, this bot is private and this chat is not allowed to subscribe.",
    "unknown_command": "I don't know the command {command}. /help lists the commands.",
    "too_long": "This message is too long for a command ({n} characters, at most {max}).",
    "text_only": "I only understand commands: /help for the list.",
    "error": "Sorry, something went wrong. Please try again in a moment.",
    "stats": (
        "📊 <b>Statistics</b>\nFeeds: {feeds_ok} ok, {feeds_failing} failing, {feeds_dead} dead\n"
        "24 h: {articles_24h} articles, {clusters_24h} stories\n"
        "Subscribers: {chats_active} active, {chats_paused} paused, {chats_blocked} blocked\n"
        "Last poll: {last_poll}\nLast digest: {last_digest}\nPending digests: {pending}"
    ),
    "stats_storage": "⚠️ <b>Storage</b>: {error}",
    "feeds_none": "✅ All feeds are working.",
    "feeds_header": "<b>Failing or dead feeds</b> ({n})",
    "feed_line": "{mark} <b>{name}</b> — {errors} error(s) since {since}\n    {error}",
    "reload_ok": "🔄 Configuration reloaded: {feeds} feeds, {tags} topics.",
    "reload_refused": "⚠️ Configuration not reloaded (the running one is kept): {problems}",
    "reload_other": "🔄 {summary}",
    "reload_unavailable": "Reloading is not available right now.",
    "reload_failed": "Reload failed: {error}",
    "addfeed_usage": (
        "Give the address of a feed or a site: <code>/addfeed https://example.com/rss</code> "
        "(a name may follow the address)."
    ),
    "addfeed_known": "This feed is already configured: “{name}”.",
    "addfeed_failed": "❌ Feed not added: {error}",
    "addfeed_skipped": "❌ Feed “{name}” not added: {why}",
    "addfeed_found_on": " (found on {page})",
    "addfeed_ok": (
        "✅ Feed added: <b>{name}</b>{where}\n{url}\n{format}, {entries} entries right now.\n{applied}"
    ),
    "removefeed_usage": "Give the feed's name: <code>/removefeed Le Monde</code>.",
    "removefeed_unknown": "No feed is called “{name}”.",
    "removefeed_suggest": "No feed is called “{name}”. Did you mean “{suggestion}”?",
    "removefeed_ok": (
        "🗑 Feed removed: <b>{name}</b>. Its stored articles stay until they expire.\n{applied}"
    ),
    "config_not_written": "❌ The configuration was not changed: {error}",
    "feeds_apply_later": "The bot applies it at its next configuration check.",
}

TEXTS: dict[str, dict[str, str]] = {"fr": _FR, "en": _EN}


def t(language: str, key: str, **values: object) -> str:
    """The text ``key`` in ``language`` (fr if unknown), every value HTML-escaped unless :class:`Html`."""
    table = TEXTS.get(language, _FR)
    template = table.get(key) or _FR[key]
    safe = {k: (v.markup if isinstance(v, Html) else esc(v)) for k, v in values.items()}
    return template.format(**safe)


def plain(language: str, key: str, **values: object) -> str:
    """The text ``key`` without markup, for places that show plain text (callback query answers)."""
    return html.unescape(re.sub(r"<[^>]+>", "", t(language, key, **values)))


_RELOADED = re.compile(r"^config reloaded: (\d+) feeds?, (\d+) tags?$")
_NOT_RELOADED = "config not reloaded: "


def reload_summary(summary: str, language: str) -> str:
    """The feed scheduler's one English line about a reload, in ``language`` (/reload, /addfeed)."""
    done = _RELOADED.match(summary)
    if done:
        return t(language, "reload_ok", feeds=int(done.group(1)), tags=int(done.group(2)))
    if summary.startswith(_NOT_RELOADED):
        return t(language, "reload_refused", problems=summary[len(_NOT_RELOADED):][:3000])
    return t(language, "reload_other", summary=(summary or "ok")[:3000])


def command_list(language: str, *, admin: bool = False) -> Html:
    """"/start — description" lines for the welcome and help texts."""
    return Html("\n".join(f"/{name} — {esc(desc)}" for name, desc in command_menu(language)
                          if admin or name not in {c[0] for c in COMMANDS if c[1]}))


def admin_command_list(language: str) -> Html:
    admin_names = {c[0] for c in COMMANDS if c[1]}
    return Html("\n".join(f"/{name} — {esc(desc)}" for name, desc in command_menu(language, admin=True)
                          if name in admin_names))


def duration_text(seconds: float, language: str) -> str:
    """86400 → "24 h"; 3 days → "3 jours" / "3 days"; 90 min → "90 min"."""
    if seconds >= 2 * 86400 and seconds % 86400 == 0:
        days = int(seconds // 86400)
        return f"{days} jours" if language == "fr" else f"{days} days"
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)} h"
    return f"{max(1, round(seconds / 60))} min"


def join_list(items: Iterable[str], language: str, *, alternatives: bool = False) -> str:
    """"a, b et c" / "a, b and c"; with ``alternatives`` "a, b ou c" / "a, b or c"."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    if alternatives:
        return ", ".join(items[:-1]) + (" ou " if language == "fr" else " or ") + items[-1]
    last = " et " if language == "fr" else " and "
    return ", ".join(items[:-1]) + last + items[-1]
