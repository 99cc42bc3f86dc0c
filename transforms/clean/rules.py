"""Boilerplate rules: named, audited paragraph patterns, built in or from a user's file.

Precision first: a rule removes a whole paragraph (a line of the normalised
text) only when the paragraph is short, matches a pattern that article prose
does not, and, for footers, sits at the end of the article. Rules are grouped
by what they remove (``consent``, ``newsletter``, ``embedded_post``, ...);
the group is the name written in the article's ``boilerplate`` audit column.
The consent, sign-up, read-more, share, follow, advertising, related and
credit groups have packs for German, French and Spanish besides English.

User rules (``--boilerplate-rules``, TOML or YAML) are compiled with the
``regex`` package and every match runs under a time limit, so a pattern
with catastrophic backtracking can neither be loaded (it is probed first)
nor stall a run (a match that times out keeps the paragraph, with a warning).
"""

import dataclasses
import hashlib
import re
import tomllib

import regex

__all__ = ['Rule', 'DEFAULT_RULES', 'apply_rules', 'match_rule', 'load_rules_file',
           'parse_rules', 'paragraph_fingerprint', 'RulesFileError',
           'WARN_RULE_TIMEOUT', 'PARAGRAPH_SEPARATOR', 'examined_count',
           'MAX_EXAMINED_PARAGRAPHS', 'MAX_EXAMINED_CHARS', 'WARN_CLEANING_PARTIAL']

PARAGRAPH_SEPARATOR = '\n\n'
DEFAULT_MAX_CHARS = 300  # a rule never removes a longer paragraph
TAIL_PARAGRAPHS = 3  # "tail" rules look only at this many last paragraphs
HEAD_PARAGRAPHS = 3  # "head" rules look only at this many first paragraphs
POSITIONS = ('any', 'head', 'tail')
# Work budget of the cleaners (rules and classifier) per article: they examine
# its first paragraphs up to both limits; the paragraphs past them are kept
# unexamined and the article is flagged ``cleaning_partial`` (nothing is cut).
MAX_EXAMINED_PARAGRAPHS = 2000  # paragraphs examined per article
MAX_EXAMINED_CHARS = 200_000  # characters examined per article (about 30,000 words)
WARN_CLEANING_PARTIAL = 'cleaning_partial'

USER_PATTERN_SECONDS = 0.05  # longest one match of a user pattern may take
# Texts a user pattern is tried on when loaded: long runs that make nested
# repetitions backtrack, and ordinary prose.
PROBE_TEXTS = ('a' * 64 + '!', 'x' * 64, ('word ' * 60) + '!', '1' * 64 + 'a',
               'The council met on Tuesday and agreed the budget, officials said.')
WARN_RULE_TIMEOUT = 'user_rule_timeout'

FINGERPRINT_HEX_CHARS = 16
MIN_FINGERPRINT_CHARS = 2  # shorter paragraphs (a lone digit or symbol) get no fingerprint

_MONTH = (r'(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|'
          r'aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?')
_DATE = (r'(?:' + _MONTH + r'\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}|\d{1,2}(?:st|nd|rd|th)?\s+'
         + _MONTH + r',?\s+\d{4}|\d{4}-\d\d-\d\d|\d{1,2}[/.]\d{1,2}[/.]\d{2,4})')
_TIME = r'(?:,?\s*(?:at\s*)?\d{1,2}[:.]\d\d\s*(?:[ap]\.?m\.?)?(?:\s*[a-z]{2,4})?)?'
_SOCIAL = (r'(?:facebook|twitter|x|instagram|tiktok|youtube|linkedin|telegram|whatsapp|'
           r'threads|bluesky|mastodon|snapchat|pinterest|reddit|flipboard|google news)')
_MENU_SEPARATOR = r'[|•·»>]'
_MENU_ITEM = r'[^|•·»>.!?]{1,40}+'  # one menu item: up to 40 characters, no separator or stop
_AGENCIES = (r'(?:getty images|afp|reuters|ap|ap photo|associated press|shutterstock|alamy|'
             r'pa images|pa wire|pa media|epa|epa-efe|efe|dpa|anadolu|sipa|bloomberg|'
             r'xinhua|imago|picture alliance|istock|unsplash|ansa|keystone|nurphoto)')


class RulesFileError(ValueError):
  """A user rules file is unreadable or holds an invalid rule."""


@dataclasses.dataclass(frozen=True)
class Rule:
  """One named pattern; it removes a paragraph it matches (search)."""
  name: str
  pattern: object  # a compiled re or regex pattern
  max_chars: int = DEFAULT_MAX_CHARS
  position: str = 'any'
  timeout: float = None  # seconds per match; set for user rules (regex package)

  def search(self, paragraph):
    """Whether the pattern matches; raises TimeoutError past the rule's time limit."""
    if self.timeout is None:
      return self.pattern.search(paragraph) is not None
    return self.pattern.search(paragraph, timeout=self.timeout) is not None


def _rule(name, pattern, max_chars=DEFAULT_MAX_CHARS, position='any', case=False):
  return Rule(name, re.compile(pattern, 0 if case else re.IGNORECASE), max_chars, position)


# Paragraph-level rules, by group. Each pattern is anchored or ties together
# words that article prose does not use together.
DEFAULT_RULES = (
    # Consent and sign-up blurbs ("We use your sign-up to provide content ...").
    _rule('consent', r'^we use your sign-?up to provide content', 600),
    _rule('consent', r'\bwe use cookies\b|\bthis (?:web)?site uses cookies\b'
          r'|\baccept (?:all )?cookies\b|\bcookie (?:policy|settings|preferences)\b', 400),
    _rule('consent', r'\b(?:by (?:clicking|signing up|subscribing|continuing|registering)'
          r'|when you subscribe)\b.{0,120}\b(?:agree|consent|accept)\b.{0,80}'
          r'\b(?:privacy|terms|policy|notice)\b', 500),
    _rule('consent', r'\byou can unsubscribe at any time\b', 500),
    _rule('consent', r'^by (?:entering|providing|submitting|sharing|giving us) your (?:e-?mail'
          r'|details|information|phone number)\b.{0,60}\b(?:agree|consent|accept|acknowledge)\b'
          r'.{0,150}\b(?:terms|privacy|policy|e-?mails?|updates|newsletters?|marketing'
          r'|communications|texts|messages|offers)\b', 500),
    # ... German, French, Spanish.
    _rule('consent', r'\b(?:wir verwenden|wir nutzen|diese (?:web)?seite (?:verwendet|nutzt))'
          r' cookies\b|^(?:alle )?(?:cookies )?(?:akzeptieren|ablehnen|zustimmen)$', 400),
    _rule('consent', r'\bcookie-(?:einstellungen|richtlinie|hinweis)\b', 120),
    _rule('consent', r'\b(?:mit (?:der|ihrer) (?:anmeldung|registrierung)|indem sie)\b.{0,150}'
          r'\b(?:datenschutz\w*|nutzungsbedingungen|agb)\b', 500),
    _rule('consent', r'\bsie können (?:sich|den newsletter) jederzeit (?:wieder )?abmelden\b', 500),
    _rule('consent', r'\b(?:nous utilisons|ce site (?:web )?utilise|ce site internet utilise)'
          r' des cookies\b|\b(?:accepter|refuser) (?:tous )?les cookies\b'
          r'|\b(?:paramètres|gestion) des cookies\b', 400),
    _rule('consent', r'\ben (?:vous inscrivant|cliquant|poursuivant)\b.{0,150}\b(?:acceptez'
          r'|consentez)\b.{0,100}\b(?:confidentialité|conditions|données personnelles)\b', 500),
    _rule('consent', r'\bvous pouvez vous désinscrire à tout moment\b', 500),
    _rule('consent', r'\b(?:utilizamos|usamos|este sitio (?:web )?utiliza|esta web utiliza)'
          r' cookies\b|\baceptar (?:todas las )?cookies\b|\bconfiguración de cookies\b'
          r'|\bpolítica de cookies\b', 400),
    _rule('consent', r'\bal (?:suscribirte|registrarte|hacer clic|continuar)\b.{0,150}'
          r'\b(?:aceptas|acepta|consientes)\b.{0,100}\b(?:privacidad|términos|condiciones)\b', 500),
    _rule('consent', r'\bpuedes darte de baja en cualquier momento\b', 500),
    # Newsletter plugs.
    _rule('newsletter', r'^(?:sign up|subscribe|register|get|join)\b.{0,80}\bnewsletters?\b', 250),
    _rule('newsletter', r'\bnewsletters?\b.{0,80}\b(?:inbox|sign up|subscribe now|delivered)\b', 200),
    _rule('newsletter', r'^(?:sign up|subscribe)(?: now| today| here)?[.!:]?$', 40),
    _rule('newsletter', r'^(?:jetzt )?(?:(?:kostenlos|gratis) )?(?:den |unseren )?newsletter'
          r' (?:abonnieren|bestellen)\b|^melden sie sich\b.{0,60}\bnewsletter\b'
          r'|^(?:jetzt )?(?:kostenlos )?(?:anmelden|abonnieren|registrieren)[.!:]?$', 200),
    _rule('newsletter', r'^(?:inscrivez-vous|abonnez-vous)\b.{0,80}\b(?:newsletter|lettre'
          r"(?: d'information)?|infolettre)\b|^(?:inscrivez-vous|abonnez-vous)[.!:]?$", 200),
    _rule('newsletter', r'^(?:suscríbete|suscribete|regístrate|registrate|apúntate)\b.{0,80}'
          r'\b(?:newsletter|boletín|boletin)\b|^(?:suscríbete|regístrate)[.!:]?$', 200),
    # "Don't want to miss any news? Sign up ...": a question that opens a
    # paragraph with "miss nothing" is a sign-up ask; the statement form
    # ("Never miss a story") only with a sign-up word after it.
    _rule('newsletter', r'^(?:sie wollen|wollen sie|möchten sie|du willst|willst du) (?:keine?[nr]?'
          r'|nichts)\b[^?]{0,80}+(?<=verpassen)\s*+\?', 400),
    _rule('newsletter', r'^(?:nichts mehr verpassen|verpassen sie (?:keine?n?|nichts)\b)'
          r'(?=.{0,150}?\b(?:anmelden|abonnieren|registrieren|newsletter|melden sie sich))', 400),
    _rule('newsletter', r'^(?:vous ne (?:voulez|souhaitez) (?:rien|plus rien|pas) (?:manquer'
          r'|rater)|ne (?:manquez|ratez) (?:plus )?(?:rien|aucune?)\b(?=.{0,150}?\b(?:inscrivez'
          r'|abonnez|newsletter|infolettre|lettre d\'information)))', 400),
    _rule('newsletter', r'^¿?(?:no (?:te )?quieres perder(?:te)? (?:nada|ninguna?)\b[^?]{0,80}+\?'
          r'|no te pierdas (?:nada|ninguna?)\b(?=.{0,150}?\b(?:suscr[ií]bete|reg[ií]strate'
          r'|newsletter|bolet[ií]n)))', 400),
    _rule('newsletter', r"^(?:don't|do not) want to miss (?:a thing|out|anything|any)\b[^?]{0,80}+\?"
          r'|^never miss (?:a|another|an) (?:story|thing|update|headline)\b(?=.{0,150}?\b(?:sign'
          r' up|subscribe|newsletter|register))', 400),
    # "Read more" and "Read full article" prompts.
    _rule('read_more', r'^(?:\W{0,3})(?:read|see|view|click here (?:to read|for)) (?:the )?'
          r'(?:full|whole|original|complete) (?:article|story|report|post)\b', 120),
    _rule('read_more', r'^(?:continue|keep) reading\b', 80),
    _rule('read_more', r'^read more(?: here| at| on| about)?\s*(?:[:.»>…-]|$)', 200),
    _rule('read_more', r'^(?:read|see|view|browse) (?:more|all|other|our latest) (?:news|stories'
          r'|articles|posts|blogs?|reviews|guides)\b(?:[^.!?,;]|\.(?=\S)){0,60}[.»>→]?$', 100),
    _rule('read_more', r'^read more (?:from|by) [^.!?]{1,60}$', 80),
    _rule('read_more', r'^read (?:our|the) (?:full|complete|in-depth|detailed)? ?(?:[\w’\'-]+ )'
          r'{0,4}review\b[^.!?,;]{0,60}[.»>→]?$', 100),
    _rule('read_more', r'^(?:weiterlesen|mehr lesen|lesen sie (?:mehr|weiter|hier)'
          r'|lire la suite|lire plus|leer más|seguir leyendo|sigue leyendo)\b\s*(?:[:.»>…-]|$)',
          120),
    # "Source: ..." footers, at the end only.
    _rule('source_footer', r'^source\s*:\s*read full article\s*$', 60),
    _rule('source_footer', r'^(?:source|quelle|fuente)\s*:\s*[^.!?]{1,60}$', 80, 'tail'),
    # Related-story teasers: a headline ending in a bracketed all-caps tag,
    # or a line introduced as related reading.
    Rule('related_teaser', re.compile(r'\[[A-Z][A-Z /&-]{2,20}\]\s*$'), 200),
    _rule('related_teaser', r'^(?:related|related (?:stories|articles|content|coverage|posts?'
          r'|reading|links?)|also read|read also|see also|more on this(?: story)?|recommended'
          r'|you (?:may|might) also like|most read|trending(?: now| stories)?)'
          r'\s*(?:[:|»>–—-]|$)', 200),
    _rule('related_teaser', r'^(?:follow|read|see|get) (?:[\w’\'-]+ ){0,2}(?:full |complete |latest '
          r'|live |continuing )?coverage (?:of|on|at)\b', 200),
    _rule('related_teaser', r'^(?:mehr zum thema|das könnte sie auch interessieren|auch interessant'
          r'|lesen sie auch|(?:à )?lire aussi|voir aussi|à voir aussi|sur le même sujet'
          r'|lee también|te puede interesar|noticias relacionadas|también te puede interesar'
          r'|relacionad[oa]s?)\s*(?:[:|»>-]|$)', 200),
    # Bracketed or all-caps teasers and media labels: "[WATCH] ...", "VIDEO: ...".
    _rule('bracketed_teaser', r'^[\[(](?:watch|video|videos|photos?|gallery|listen|audio|read'
          r'|related|more|see|live|poll|quiz|podcast|explainer|opinion)[\])]\s*\S', 200),
    _rule('bracketed_teaser', r'^(?:WATCH|VIDEO|READ|LISTEN|MORE|RELATED|ALSO READ|READ MORE'
          r'|SEE ALSO|PHOTOS|GALLERY|LIVE|PODCAST)\s*[:|]\s*\S', 200, case=True),
    # Share prompts.
    _rule('share_prompt', r'^(?:share|share this(?: article| story| page)?|share on \w+'
          r'|click to share|tweet(?: this)?|email this|print this(?: article| page)?'
          r'|follow us on \w+(?: and \w+)?|copy link|sharing is caring)\s*[.!:]?$', 80),
    _rule('share_prompt', r'^(?:share|follow)(?: this)?(?: article| story)?'
          r'(?:\s*(?:on|via|:)?\s*(?:facebook|twitter|x|whatsapp|linkedin|email|reddit|pinterest)'
          r'\s*[,|/]?)+$', 150),
    _rule('share_prompt', r'^(?:teilen|artikel teilen|partager(?: cet article)?|compartir'
          r'(?: (?:este artículo|esta noticia))?)(?:\s*(?:auf|sur|en|via|:)?\s*' + _SOCIAL
          + r'\s*[,|/]?)*\s*[.!:]?$', 150),
    # Requests to follow the publication.
    _rule('follow_request', r'^(?:follow|like|join|find|connect with|subscribe to) (?:us|\w+'
          r'(?: \w+){0,3}) on ' + _SOCIAL + r'\b', 200),
    _rule('follow_request', r'^follow (?:(?:us|[\w.]+(?: [\w.]+){0,3})(?: on \w+)?\s*:?\s*)?@\w+'
          r'(?:\s*(?:and|,|\|)\s*@\w+)*\.?$', 150),
    _rule('follow_request', r'^(?:folgen sie uns|suivez-nous|síguenos|siguenos)\b.{0,80}$', 150),
    # Donation and membership requests.
    _rule('donation', r'^(?:please\s+)?(?:consider\s+)?(?:support(?:ing)? (?:us|our|independent'
          r'|local|quality|public-interest|nonprofit|this|the work)|donate (?:now|today|here'
          r'|to (?:us|our))|donate[.!]?$|become a (?:member|patron|supporter|subscriber|friend)'
          r'|help (?:us|(?:support|fund|keep) (?:us|our|this|independent|local))|chip in'
          r'|make a (?:contribution|donation)|give (?:today|now|monthly))\b', 400),
    _rule('donation', r'^if you (?:value|enjoy|like|appreciate|rely on|found)\b.{0,200}'
          r'\b(?:support|donat\w*|subscri\w*|contribut\w*|become a member)\b', 400),
    _rule('donation', r'\bif you (?:value|enjoy(?:ed)?|liked?|appreciated?|found)\b.{0,60}'
          r'\b(?:this|our) (?:article|story|journalism|reporting|work)\b.{0,200}\b(?:support'
          r'|donat\w*|subscri\w*|contribut\w*|members?(?:hip)?|join)\b', 400),
    _rule('donation', r'\b(?:independent|nonprofit|non-profit|reader-funded|reader-supported)'
          r' (?:journalism|news(?:room)?|media)\b.{0,200}\b(?:support|donat\w*|contribut\w*)\b'
          r'|\b(?:support|donat\w*|contribut\w*)\b.{0,200}\b(?:independent|nonprofit|non-profit'
          r'|reader-funded|reader-supported) (?:journalism|news(?:room)?|media)\b', 400),
    # Subscription and app plugs, tip lines.
    _rule('subscribe_request', r'^(?:subscribe|sign up|register)\b.{0,120}\b(?:channel|alerts?'
          r'|podcast|updates|app|today|now|for free|unlimited access|digital access)\b', 200),
    _rule('subscribe_request', r'^(?:download|get|install) (?:our|the [\w&.-]+(?: [\w&.-]+)?)'
          r' (?:free )?app\b', 200),
    _rule('subscribe_request', r'^click here to (?:subscribe|sign up|download|follow|join|read'
          r'|watch|listen|register|get)\b', 200),
    _rule('subscribe_request', r'^(?:got|have) a (?:news )?tip\??\b.{0,150}$', 200),
    _rule('subscribe_request', r'^(?:already a subscriber|not a subscriber|subscribers? only'
          r'|this (?:article|content) is (?:only )?(?:available|for) (?:to )?subscribers)\b', 200),
    # Navigation: four or more short items separated by pipes, bullets or
    # chevrons, with no sentence in them ("Home | News | Sport | Weather").
    # Atomic and possessive, so a menu with one over-long item fails in linear
    # time (the nested repetitions backtracked exponentially); an item of
    # whitespace only still counts, as before.
    Rule('navigation', re.compile(
        r'^(?>(?:' + _MENU_ITEM + r'|(?<=\s))\s*+' + _MENU_SEPARATOR + r'\s*+){3,}+(?:'
        + _MENU_ITEM + r'|(?<=\s))$'), 300),
    # Page furniture: reading times and "back to" links.
    _rule('furniture', r'^(?:\d{1,3}\s*-?\s*(?:min(?:ute)?s?|min\.)\s*(?:read|reading time'
          r'|de lectura|de lecture|lesezeit|lettura)|(?:reading time|read time|lesezeit'
          r'|temps de lecture|tiempo de lectura|tempo di lettura)\s*:?\s*\d{1,3}\s*'
          r'(?:min(?:ute)?s?|min\.|minuten))\.?$', 40),
    _rule('furniture', r'^(?:filed under|tags?|tagged(?: with| as)?|topics?|categories|category'
          r'|posted in)\s*:\s*\S.{0,200}$', 220),
    _rule('furniture', r'^(?:text|font) size(?:\s*:?(?:\s*a\s*[+-])*)?$', 30),
    # Media-player and caption widgets left in scraped text.
    _rule('furniture', r'^(?:toggle caption|hide caption|show caption|enlarge this image'
          r'|expand image|open image in gallery|opens in (?:a )?new (?:window|tab)'
          r'|click to (?:share|email|print|enlarge)\b.{0,60}|loading(?:\.{3}|…)?'
          r'|play(?: video)?|watch video|video (?:player|unavailable)|image|photo|audio)$', 80),
    _rule('furniture', r'^(?:back|return|go back) to (?:the )?(?:top|home(?:page)?|main menu|menu'
          r'|(?:all |the |our )?(?:[\w-]+ ){0,2}(?:articles|posts|stories|news|blogs?|results'
          r'|search|overview|index|list|categories))\s*[»>↑^]?$', 50),
    _rule('furniture', r'^(?:zurück zu[rm]? |retour (?:à|au|aux) |volver a[l]? )(?:\w+ )?'
          r'(?:übersicht|startseite|top|accueil|haut|inicio|blog|noticias|actualités|nachrichten)'
          r'\s*[»>↑^]?$', 50),
    # Advertisement markers.
    _rule('advertisement', r'^(?:advertisement|advert|adverti[sz]ing|sponsored(?: content)?'
          r'|paid (?:content|post)|ad|story continues below(?: advertisement)?'
          r'|article continues below(?: advertisement)?|continue reading below'
          r'|anzeige|werbung|publicité|publicidad|contenido patrocinado)\s*[.:]?$', 60),
    _rule('advertisement', r'^(?:advertisement|story continues) *[-–—:] *(?:scroll|continue|keep)'
          r'(?: down)? (?:to|reading)\b.{0,40}$|^skip (?:ad|advertisement)$', 80),
    # Embedded posts: tweet signatures, Instagram and other embed captions.
    _rule('embedded_post', r'[—–-]\s*[^()\n]{1,80}\(@\w{1,30}\)\s*(?:' + _MONTH
          + r'\s+\d{1,2},?\s+\d{4}|\d{1,2}\s+' + _MONTH + r'\s+\d{4})\s*$', 600),
    _rule('embedded_post', r'^a post shared by\b.{0,120}$|^view this post on instagram$'
          r'|^view (?:this|the) (?:post|tweet|video) on \w+$', 200),
    _rule('embedded_post', r'pic\.twitter\.com/\w+', 400),
    _rule('embedded_post', r'^\S.{0,280}\(@\w{1,30}\)\s*(?:' + _MONTH + r'\s+\d{1,2},?\s+\d{4})'
          r'\s*$', 400),
    # Photo credits and captions.
    _rule('photo_credit', r'^(?:photo|image|picture|photograph|video|graphic|illustration'
          r'|foto|bild|fotografía|crédit photo|crédits? photo|crédito)s?'
          r'(?: credits?| sources?)?\s*[:|]\s*.{0,100}$', 140),
    _rule('photo_credit', r'^\(?(?:photo|image|picture)s?\s*(?:by|courtesy of|courtesy(?: of)?\s*:)'
          r'\s*[^.!?]{1,80}\)?\.?$', 120),
    _rule('photo_credit', r'^(?:photo|image|picture|screenshot) (?:from|via) [^.!?,;]{1,80}\.?$', 100),
    _rule('photo_credit', r'^[^.!?]{0,100}\((?:photo|image|picture|credit)\s*:[^)]{1,80}\)\s*$', 200),
    _rule('photo_credit', r'^[^.!?]{0,80}(?:/|\|)\s*' + _AGENCIES + r'(?: via getty images)?\s*$',
          160),
    _rule('photo_credit', r'\((?:photo|photograph|picture|image|video|foto)s?'
          r'(?: by|:| credit:?| courtesy(?: of)?)\s*[^()]{1,100}\)\.?(?:\s+[A-Z][\w&.-]*){0,2}\s*$',
          400),
    _rule('photo_credit', r'\((?:[A-Z][A-Za-z&.-]+(?: [A-Z][A-Za-z&.-]+){0,3}/){1,3}'
          r'[A-Z][A-Za-z&.-]+(?: [A-Z][A-Za-z&.-]+){0,3}\)\.?\s*$', 400, case=True),
    _rule('photo_credit', r'^image (?:copyright|caption|source)\b', 400),
    _rule('photo_credit', r'\((?:ap|afp|reuters|epa|dpa|efe|ansa|anadolu) (?:photo|foto)'
          r'(?:/[^)]{1,60})?\)\.?\s*$', 400),
    _rule('photo_credit', r'(?:^|\s)(?:credit|image credit|photo credit)(?::|\.\.\.)\s*\S.{0,80}$',
          300),
    _rule('photo_credit', r'^file photo\s*:', 400),
    _rule('photo_credit', r'\bphotograph:\s*[^.!?]{1,80}$', 300),
    # Copyright lines.
    _rule('copyright', r'^(?:©|\(c\))\s*.{0,120}$', 160),
    _rule('copyright', r'^©\s*\S', 400),
    _rule('copyright', r'\bthis material may not be published, broadcast, rewritten,? or '
          r'redistributed\b', 400),
    _rule('copyright', r'^copyright\b\s*(?:©|\(c\))?[^.!?]{0,100}\b(?:19|20)\d\d\b'
          r'[^.!?]{0,80}\.?$', 200),
    _rule('copyright', r'\ball rights reserved\b|\btous droits réservés\b'
          r'|\btodos los derechos reservados\b|\balle rechte vorbehalten\b', 200),
    # Reporter and contact lines.
    _rule('contact_line', r'^(?:contact|email|e-mail|write to|follow|reach)\b[^.!?]{0,80}'
          r'[\w.+-]+@[\w-]+(?:\.[\w-]+)+\.?$', 160),
    _rule('contact_line', r'^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$', 100),
    _rule('contact_line', r'^(?:phone|tel|telephone|mobile|cell|fax|call us|whatsapp)'
          r'(?: (?:number|no\.?))?\s*:\s*(?:\+?\(?\d(?:[\d\s().\-/+•|,;:]|\b(?:fax|ext|or|x)\b)*)?$',
          120),
    # Date lines of a byline: a lone date (and time) among the first paragraphs,
    # or one introduced as the publication or update date anywhere.
    _rule('byline', r'^(?:\w+day,?\s+)?' + _DATE + _TIME + r'\s*$', 60, 'head'),
    _rule('byline', r'^(?:(?:first )?published|posted|(?:last )?updated|last modified|modified'
          r'|released)(?: on| at)?\s*:?\s*(?:\w+day,?\s+)?' + _DATE + _TIME + r'\s*$', 80),
    _rule('contact_line', r'^\(?(?:additional )?(?:reporting|writing|editing|compiled) by\b'
          r'[^.!?]{1,150}\)?\.?$', 220, 'tail'),
    _rule('contact_line', r'^\((?:additional )?(?:reporting|writing|editing|compiled) by\b'
          r'[^()]{1,380}\)\.?$', 400),
    _rule('contact_line', r'^[^.!?]{1,80}\bcontributed (?:reporting )?(?:to|for) (?:this|the)'
          r' (?:report|story|article)\.?$', 200),
)


def _load_yaml(data):
  import yaml  # pylint: disable=import-outside-toplevel
  return yaml.safe_load(data)


def compile_user_pattern(pattern, flags, label):
  """A user pattern compiled with ``regex``; RulesFileError when invalid or too slow."""
  try:
    compiled = regex.compile(pattern, flags)
  except (regex.error, ValueError, OverflowError, RecursionError) as error:
    raise RulesFileError(f'{label}: invalid pattern: {error}') from error
  for text in PROBE_TEXTS:
    try:
      compiled.search(text, timeout=USER_PATTERN_SECONDS)
    except TimeoutError as error:
      raise RulesFileError(
          f'{label}: pattern takes over {USER_PATTERN_SECONDS * 1000:.0f} ms on a '
          f'{len(text)}-character text (nested repetition such as (a+)+?): '
          'simplify it') from error
  return compiled


def parse_rules(document, where='rules file'):
  """Rules from a parsed rules document: ``{'rules': [{name, pattern, ...}]}``."""
  if not isinstance(document, dict) or not isinstance(document.get('rules'), list):
    raise RulesFileError(f'{where}: expected a list named "rules"')
  rules = []
  for index, item in enumerate(document['rules'], start=1):
    label = f'{where}: rule {index}'
    if not isinstance(item, dict):
      raise RulesFileError(f'{label}: expected a table with name and pattern')
    unknown = set(item) - {'name', 'pattern', 'max_chars', 'position',
                           'case_sensitive'}
    if unknown:
      raise RulesFileError(f'{label}: unknown key(s) {sorted(unknown)}')
    name, pattern = item.get('name'), item.get('pattern')
    if not isinstance(name, str) or not re.fullmatch(r'[a-z][a-z0-9_]{0,40}', name):
      raise RulesFileError(f'{label}: name must be lower_snake_case, got {name!r}')
    if not isinstance(pattern, str) or not pattern:
      raise RulesFileError(f'{label} ({name}): pattern must be a non-empty string')
    max_chars = item.get('max_chars', DEFAULT_MAX_CHARS)
    if not isinstance(max_chars, int) or isinstance(max_chars, bool) or max_chars < 1:
      raise RulesFileError(f'{label} ({name}): max_chars must be a positive integer')
    position = item.get('position', 'any')
    if position not in POSITIONS:
      raise RulesFileError(f'{label} ({name}): position must be one of {POSITIONS}')
    flags = regex.V0 | (0 if item.get('case_sensitive', False) else regex.IGNORECASE)
    compiled = compile_user_pattern(pattern, flags, f'{label} ({name})')
    rules.append(Rule(name, compiled, max_chars, position, USER_PATTERN_SECONDS))
  return tuple(rules)


def load_rules_file(path):
  """User rules from a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file."""
  from apache_beam.io.filesystems import FileSystems  # pylint: disable=import-outside-toplevel
  try:
    with FileSystems.open(path) as f:
      data = f.read()
  except (OSError, IOError) as error:
    raise RulesFileError(f'cannot read rules file {path!r}: {error}') from error
  try:
    if path.lower().endswith('.toml'):
      document = tomllib.loads(data.decode('utf-8'))
    elif path.lower().endswith(('.yaml', '.yml')):
      document = _load_yaml(data.decode('utf-8'))
    else:
      raise RulesFileError(f'rules file {path!r}: use a .toml, .yaml or .yml file')
  except (UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError) as error:
    if isinstance(error, RulesFileError):
      raise
    raise RulesFileError(f'rules file {path!r}: {error}') from error
  except Exception as error:  # yaml.YAMLError has no common base with ValueError
    mark = getattr(error, 'problem_mark', None)  # one line, not PyYAML's drawing of it
    where = f' at line {mark.line + 1}, column {mark.column + 1}' if mark else ''
    what = getattr(error, 'problem', None) or ' '.join(str(error).split())
    raise RulesFileError(f'rules file {path!r}: invalid YAML: {what}{where}') from error
  return parse_rules(document, f'rules file {path!r}')


def _in_position(rule, index, count):
  if rule.position == 'tail':
    return index >= count - TAIL_PARAGRAPHS
  if rule.position == 'head':
    return index < HEAD_PARAGRAPHS
  return True


def match_rule(paragraph, index, count, rules, timeouts=None):
  """The name of the first rule that removes this paragraph, or None.

  A user rule that times out does not match; its name is appended to
  ``timeouts`` when a list is given.
  """
  for rule in rules:
    if len(paragraph) > rule.max_chars or not _in_position(rule, index, count):
      continue
    try:
      if rule.search(paragraph):
        return rule.name
    except TimeoutError:
      if timeouts is not None:
        timeouts.append(rule.name)
  return None


def examined_count(paragraphs, max_paragraphs=MAX_EXAMINED_PARAGRAPHS,
                   max_chars=MAX_EXAMINED_CHARS):
  """How many leading paragraphs of an article fit the cleaners' work budget."""
  chars = 0
  for index, paragraph in enumerate(paragraphs[:max_paragraphs]):
    chars += len(paragraph)
    if chars > max_chars:
      return index
  return min(len(paragraphs), max_paragraphs)


def apply_rules(text, rules=DEFAULT_RULES, timeouts=None):
  """Splits text into kept text and ``[(rule, removed paragraph)]``, within the work budget."""
  paragraphs = text.split(PARAGRAPH_SEPARATOR) if text else []
  budget = examined_count(paragraphs)
  kept, removed = [], []
  for index, paragraph in enumerate(paragraphs[:budget]):
    rule = match_rule(paragraph, index, len(paragraphs), rules, timeouts)
    if rule:
      removed.append((rule, paragraph))
    else:
      kept.append(paragraph)
  return PARAGRAPH_SEPARATOR.join(kept + paragraphs[budget:]), removed


_FINGERPRINT_NOISE = re.compile(r'[\W_]+')


def paragraph_fingerprint(paragraph):
  """Hash of a paragraph with case, punctuation and spacing folded (digits kept).

  Digits are kept so that the paragraphs of templated articles (market
  reports, release notes: the same sentences with other numbers) are not
  taken for a source's repeated boilerplate.
  """
  folded = _FINGERPRINT_NOISE.sub(' ', paragraph.casefold()).strip()
  if len(folded) < MIN_FINGERPRINT_CHARS:
    return None
  return hashlib.sha1(folded.encode('utf-8')).hexdigest()[:FINGERPRINT_HEX_CHARS]
