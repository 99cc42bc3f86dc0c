"""The rule groups of this round: each removes its lines and keeps prose that looks alike."""

import time

import pytest

from transforms.boilerplate_rules import DEFAULT_RULES
from transforms.boilerplate_rules import RulesFileError
from transforms.boilerplate_rules import apply_rules
from transforms.boilerplate_rules import parse_rules

OPENING = 'A real opening paragraph about the news.'


@pytest.mark.parametrize('rule, paragraph', [
    ('embedded_post', '— Jane Doe (@janedoe) May 3, 2023'),
    ('embedded_post', 'Polls close at 8pm. Go vote! pic.twitter.com/AbC123xyz '
                      '— Jane Doe (@janedoe) November 8, 2022'),
    ('embedded_post', 'We are live from the launch pad. — NASA (@NASA) 3 June 2024'),
    ('embedded_post', 'A post shared by NASA (@nasa) on Jun 1, 2023 at 10:00am PDT'),
    ('embedded_post', 'View this post on Instagram'),
    ('photo_credit', 'Firefighters battle the blaze near Athens. (Photo by Jane Doe/Getty Images)'),
    ('photo_credit', 'Police officers stand guard outside the court. (AP Photo/John Smith)'),
    ('photo_credit', 'Photograph: Jane Doe/Reuters'),
    ('photo_credit', 'FILE PHOTO: A logo is seen at the headquarters in Paris, France, '
                     'May 3, 2023. REUTERS/John Smith/File Photo'),
    ('photo_credit', 'Credit: NASA/JPL-Caltech'),
    ('donation', 'Support our journalism. Become a member today.'),
    ('donation', 'If you value our reporting, please consider making a donation.'),
    ('donation', 'Please consider supporting independent journalism with a gift today.'),
    ('donation', 'Donate now'),
    ('follow_request', 'Like us on Facebook and follow us on Twitter'),
    ('follow_request', 'Follow Jane Doe on Twitter: @janedoe'),
    ('follow_request', 'Follow @BBCWorld'),
    ('follow_request', 'Join us on Telegram for the latest updates'),
    ('subscribe_request', 'Subscribe to our YouTube channel'),
    ('subscribe_request', 'Sign up for breaking news alerts'),
    ('subscribe_request', 'Download our app'),
    ('subscribe_request', 'Get the Example News app'),
    ('subscribe_request', 'Click here to subscribe'),
    ('subscribe_request', 'Got a tip? Email us at tips@example.com'),
    ('subscribe_request', 'Already a subscriber? Log in'),
    ('bracketed_teaser', '[WATCH] Protesters clash with police in Paris'),
    ('bracketed_teaser', 'WATCH: Protesters clash with police in Paris'),
    ('bracketed_teaser', 'VIDEO: Storm hits the coast'),
    ('bracketed_teaser', '(VIDEO) Storm hits the coast'),
    ('navigation', 'Home | News | Sport | Weather | Contact'),
    ('navigation', 'World • Politics • Business • Tech'),
    ('navigation', 'Home » News » Local » Transport'),
    # German, French and Spanish packs.
    ('consent', 'Wir verwenden Cookies, um Ihnen das beste Nutzererlebnis zu bieten.'),
    ('consent', 'Mit Ihrer Anmeldung erklären Sie sich mit unseren Datenschutzbestimmungen '
                'einverstanden.'),
    ('newsletter', 'Newsletter abonnieren'),
    ('related_teaser', 'Lesen Sie auch: Scholz trifft Macron in Berlin'),
    ('related_teaser', 'Mehr zum Thema'),
    ('advertisement', 'Anzeige'),
    ('follow_request', 'Folgen Sie uns auf Facebook und Instagram'),
    ('photo_credit', 'Foto: dpa/Michael Kappeler'),
    ('consent', 'Nous utilisons des cookies pour améliorer votre expérience.'),
    ('newsletter', 'Inscrivez-vous à notre newsletter'),
    ('related_teaser', 'Lire aussi : Macron en visite à Berlin'),
    ('advertisement', 'Publicité'),
    ('follow_request', 'Suivez-nous sur Twitter'),
    ('copyright', 'Tous droits réservés'),
    ('read_more', 'Lire la suite'),
    ('consent', 'Utilizamos cookies propias y de terceros para mejorar nuestros servicios.'),
    ('newsletter', 'Suscríbete a nuestro boletín'),
    ('related_teaser', 'Lee también: El Gobierno aprueba el presupuesto'),
    ('related_teaser', 'Noticias relacionadas'),
    ('advertisement', 'Publicidad'),
    ('follow_request', 'Síguenos en Facebook'),
    ('share_prompt', 'Compartir en Facebook'),
])
def test_new_rule_groups_remove_their_lines(rule, paragraph):
  assert apply_rules(f'{OPENING}\n\n{paragraph}') == (OPENING, [(rule, paragraph)])


@pytest.mark.parametrize('paragraph', [
    'In a post on X, Jane Doe (@janedoe) said the vote would happen on May 3.',
    'The photo, taken by a local resident, shows the damage to the bridge.',
    'He gave credit to his team for the win, and to the fans who travelled.',
    'Support for the measure grew among voters today, polls showed.',
    'Donating blood is easy, officials said today.',
    'The charity asked supporters to donate to its winter appeal.',
    'Follow the money, the investigators said.',
    'Follow the rules: no running near the pool.',
    'Join us on a journey through the Alps, the brochure says.',
    'Subscribers to the service will pay $10 a month from today, the company said.',
    'Sign up was slow at first, organisers said, but 5,000 people registered by Friday.',
    'Watch: that was the only word the coach said before the final.',
    'Scores: Leeds 2 | Hull 1 | Derby 0. A dramatic night in the league.',
    'He weighed three options | none of them good.',
    'Die Regierung will die Regeln für Cookies überarbeiten, sagte der Minister am Dienstag.',
    'Mehr Menschen als erwartet kamen zum Thema Wohnen in die Stadthalle.',
    'Le gouvernement a lu aussi le rapport de la Cour des comptes.',
    'Lee también el informe completo, dijo el ministro en rueda de prensa.',
    'La publicidad electoral está prohibida durante la jornada de reflexión.',
])
def test_prose_that_looks_alike_is_kept(paragraph):
  text = f'{OPENING}\n\n{paragraph}\n\nAnother paragraph.\n\nA fourth.\n\nA fifth.'
  assert apply_rules(text) == (text, [])


def test_user_patterns_that_backtrack_for_ever_are_refused_when_loaded():
  started = time.monotonic()
  with pytest.raises(RulesFileError, match='simplify it'):
    parse_rules({'rules': [{'name': 'bad', 'pattern': r'(a|aa)+$'}]})
  assert time.monotonic() - started < 2


def test_a_user_pattern_that_times_out_on_a_paragraph_keeps_it():
  # Passes the load-time probes, then meets a paragraph it backtracks on.
  rules = parse_rules({'rules': [{'name': 'slow', 'pattern': r'^(b|bb)+$',
                                  'max_chars': 5000}]})
  timeouts = []
  text = f'{OPENING}\n\n' + 'b' * 40 + 'c'
  started = time.monotonic()
  assert apply_rules(text, DEFAULT_RULES + rules, timeouts) == (text, [])
  assert timeouts == ['slow'] and time.monotonic() - started < 2
