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


# (command, admin only, French description, English description): the command menus and /help.
COMMANDS: tuple[tuple[str, bool, str, str], ...] = (
    ("start", False, "S'abonner aux résumés (ou reprendre)", "Subscribe to digests (or resume)"),
    ("stop", False, "Mettre les résumés en pause", "Pause the digests"),
    ("tags", False, "Choisir les sujets suivis", "Choose the topics you follow"),
    ("follow", False, "Suivre un sujet : /follow ukraine", "Follow a topic: /follow ukraine"),
    ("unfollow", False, "Ne plus suivre un sujet", "Stop following a topic"),
    ("digest", False, "Recevoir maintenant les nouveautés", "Get what is new right now"),
    ("time", False, "Heures des résumés : /time 07:30 18:00", "Digest times: /time 07:30 18:00"),
    ("timezone", False, "Fuseau horaire : /timezone Europe/Paris", "Time zone: /timezone Europe/Paris"),
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
        "à {times} ({timezone}), sur {tags}.\n\n"
        "<b>Commandes</b>\n{commands}\n\nEnvoyez /digest pour recevoir tout de suite les dernières {window}."
    ),
    "welcome_back": (
        "👋 <b>Content de vous revoir !</b> Les résumés reprennent à {times} ({timezone}), sur {tags}.\n\n"
        "<b>Commandes</b>\n{commands}"
    ),
    "stopped": "⏸ Résumés en pause. Vos réglages sont conservés : /start pour reprendre.",
    "already_stopped": "Les résumés sont déjà en pause. /start pour reprendre.",
    "not_subscribed": "Ce chat n'est pas encore abonné : envoyez /start.",
    "not_subscribed_group": "Ce groupe n'est pas encore abonné : un administrateur peut envoyer /start.",
    "all_tags": "tous les sujets",
    "n_tags": "{n} sujets",
    "tags_intro": (
        "<b>Sujets suivis</b>\nTouchez un sujet pour le suivre ou ne plus le suivre (✓ = suivi). "
        "Aucun sujet coché : vous recevez tout."
    ),
    "no_tags_configured": "Aucun sujet n'est configuré pour l'instant.",
    "tag_on": "✓ {label} : suivi",
    "tag_off": "{label} : plus suivi",
    "tag_gone": "Ce sujet n'existe plus : voici la liste à jour.",
    "button_gone": "Ce bouton ne fonctionne plus : envoyez /tags pour une liste à jour.",
    "follow_usage": "Indiquez un sujet : <code>/follow ukraine</code>. Sujets : {tags}",
    "unfollow_usage": "Indiquez un sujet : <code>/unfollow ukraine</code>. Suivis : {tags}",
    "followed": "✓ Vous suivez maintenant : {labels}.",
    "unfollowed": "Vous ne suivez plus : {labels}.",
    "already_followed": "Vous suivez déjà : {labels}.",
    "not_followed": "Vous ne suiviez pas : {labels}.",
    "now_everything": "Plus aucun sujet coché : vous recevrez toutes les nouvelles.",
    "unknown_tag_suggest": (
        "Je ne connais pas le sujet « {word} ». Vouliez-vous "
        "dire <code>/{command} {suggestion}</code> ?"
    ),
    "unknown_tag": "Je ne connais pas le sujet « {word} ». Sujets : {tags}",
    "nothing_new": "Rien de nouveau depuis votre dernier résumé.",
    "digest_busy": "Un résumé est déjà en cours d'envoi pour ce chat.",
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
    "search_usage": "Indiquez des mots à chercher : <code>/search Corée du Nord</code>",
    "search_none": "Aucun article récent ne correspond à « {words} ».",
    "search_header": "🔎 <b>{words}</b> — {n} résultat(s), les plus récents d'abord :",
    "settings": (
        "⚙️ <b>Réglages</b>\nÉtat : {state}\nSujets : {tags}\nHeures : {times}\nFuseau : {timezone}\n"
        "Dernier résumé : {last}\nLangue : français"
    ),
    "state_active": "actif",
    "state_paused": "en pause",
    "state_blocked": "bloqué",
    "never": "jamais",
    "help": (
        "<b>newsbot</b> vous envoie un résumé de l'actualité internationale aux heures choisies : "
        "les histoires nouvelles ou qui ont grossi depuis le dernier résumé, chacune une seule fois, "
        "classées par nombre de sources.\n\n<b>Commandes</b>\n{commands}\n\n"
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
        "24 h : {articles_24h} articles, {clusters_24h} histoires\n"
        "Abonnés : {chats_active} actifs, {chats_paused} en pause, {chats_blocked} bloqués\n"
        "Dernière collecte : {last_poll}\nDernier résumé : {last_digest}\nRésumés en attente : {pending}"
    ),
    "stats_storage": "⚠️ <b>Stockage</b> : {error}",
    "feeds_none": "✅ Tous les flux fonctionnent.",
    "feeds_header": "<b>Flux en erreur ou morts</b> ({n})",
    "feed_line": "{mark} <b>{name}</b> — {errors} erreur(s) depuis {since}\n    {error}",
    "reload_ok": "🔄 {summary}",
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
        "👋 <b>Welcome!</b> You will get a digest of world news at {times} ({timezone}), "
        "covering {tags}.\n\n<b>Commands</b>\n{commands}\n\nSend /digest to get the last {window} now."
    ),
    "welcome_back": (
        "👋 <b>Welcome back!</b> Digests resume at {times} ({timezone}), covering {tags}.\n\n"
        "<b>Commands</b>\n{commands}"
    ),
    "stopped": "⏸ Digests paused. Your settings are kept: /start to resume.",
    "already_stopped": "Digests are already paused. /start to resume.",
    "not_subscribed": "This chat is not subscribed yet: send /start.",
    "not_subscribed_group": "This group is not subscribed yet: an administrator can send /start.",
    "all_tags": "all topics",
    "n_tags": "{n} topics",
    "tags_intro": (
        "<b>Followed topics</b>\nTap a topic to follow or unfollow it (✓ = followed). "
        "No topic ticked: you get everything."
    ),
    "no_tags_configured": "No topics are configured yet.",
    "tag_on": "✓ {label}: followed",
    "tag_off": "{label}: unfollowed",
    "tag_gone": "That topic no longer exists: here is the current list.",
    "button_gone": "This button no longer works: send /tags for a current list.",
    "follow_usage": "Name a topic: <code>/follow ukraine</code>. Topics: {tags}",
    "unfollow_usage": "Name a topic: <code>/unfollow ukraine</code>. Followed: {tags}",
    "followed": "✓ You now follow: {labels}.",
    "unfollowed": "You no longer follow: {labels}.",
    "already_followed": "You already follow: {labels}.",
    "not_followed": "You were not following: {labels}.",
    "now_everything": "No topic ticked any more: you will get all the news.",
    "unknown_tag_suggest": (
        "I don't know the topic “{word}”. Did you mean "
        "<code>/{command} {suggestion}</code>?"
    ),
    "unknown_tag": "I don't know the topic “{word}”. Topics: {tags}",
    "nothing_new": "Nothing new since your last digest.",
    "digest_busy": "A digest is already being sent to this chat.",
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
    "search_usage": "Give words to search for: <code>/search North Korea</code>",
    "search_none": "No recent story matches “{words}”.",
    "search_header": "🔎 <b>{words}</b> — {n} result(s), most recent first:",
    "settings": (
        "⚙️ <b>Settings</b>\nState: {state}\nTopics: {tags}\nTimes: {times}\nTime zone: {timezone}\n"
        "Last digest: {last}\nLanguage: English"
    ),
    "state_active": "active",
    "state_paused": "paused",
    "state_blocked": "blocked",
    "never": "never",
    "help": (
        "<b>newsbot</b> sends you a digest of world news at the times you choose: the stories that "
        "are new or grew since your last digest, each only once, ranked by number of sources.\n\n"
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
    "reload_ok": "🔄 {summary}",
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


def join_list(items: Iterable[str], language: str) -> str:
    """"a, b et c" / "a, b and c"."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    last = " et " if language == "fr" else " and "
    return ", ".join(items[:-1]) + last + items[-1]
