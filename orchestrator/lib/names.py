"""Readable run names such as "brisk-otter", generated when the client sends none."""

import secrets

ADJECTIVES = """
able agile airy amber ample arctic ardent astute azure bold brave breezy bright brisk
bronze calm candid cheerful chipper civic clever cobalt cosmic cozy crimson crisp curious
dainty dapper daring dashing deft devoted dizzy dreamy dusty eager earnest easy elated
electric elegant emerald epic exotic fabulous fair fancy fearless festive fiery flawless
fluffy fond frank free fresh friendly frosty fuzzy gallant gentle giant gifted glad gleaming
glossy golden graceful grand groovy happy hardy hasty hearty helpful heroic honest hopeful
humble icy ideal indigo ivory jade jolly jovial joyful jumpy keen kind lively lofty loyal
lucky lunar magic majestic mellow merry mighty misty modest mossy nimble noble nocturnal
olive opal orange patient peaceful perky placid plucky polite proud purple quick quiet
quirky radiant rapid rare ready regal robust rosy royal ruby rustic sandy savvy scarlet
serene shiny silent silver simple sleek smart smooth snowy solar sparkling speedy spicy
spotted spry steady stellar stormy sturdy sunny super swift tame tawny tidy tranquil
trusty twinkling upbeat valiant velvet vivid warm wary whimsical wild wise witty young
zany zealous zesty
""".split()

ANIMALS = """
aardvark albatross alpaca anteater antelope armadillo axolotl badger barracuda bat beagle
bear beaver bison boar bobcat buffalo bullfrog butterfly buzzard camel capybara caracal
cardinal caribou cassowary catfish chameleon cheetah chickadee chinchilla chipmunk cicada
cobra condor cormorant cougar coyote crab crane cricket crow cuckoo dingo dolphin donkey
dormouse dove dragonfly duck eagle eel egret elephant elk emu falcon ferret finch firefly
flamingo fox gazelle gecko gerbil gibbon giraffe goat goldfinch goose gopher gorilla
grasshopper grouse gull hamster hare hawk hedgehog heron hippo hornet horse hummingbird
hyena ibex ibis iguana impala jackal jaguar jay jellyfish kangaroo kestrel kingfisher
kiwi koala kudu ladybug lemming lemur leopard lion lizard llama lobster lynx macaw
magpie mallard manatee mandrill marmot marten meerkat mink mole mongoose moose moth
mouse mule narwhal newt nightingale ocelot octopus okapi opossum orca oriole osprey
ostrich otter owl ox panda panther parrot peacock pelican penguin pheasant pigeon pika
platypus porcupine porpoise puffin puma quail rabbit raccoon raven reindeer rhino robin
salamander salmon sandpiper seahorse seal shark sheep shrew skunk sloth snail sparrow
spider squid squirrel starling stingray stork swan tapir tarsier tern tiger toad toucan
trout turkey turtle urchin viper vulture wallaby walrus warbler weasel whale wildcat
wolf wolverine wombat woodpecker wren yak zebra
""".split()


def run_name() -> str:
    return f"{secrets.choice(ADJECTIVES)}-{secrets.choice(ANIMALS)}"
